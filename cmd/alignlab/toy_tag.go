//go:build alignlab_toy

package main

// The command's tests build the binary with -tags alignlab_toy to get the
// test.toy plugin, whose failure modes exercise every exit status.
import _ "github.com/alignlab/alignlab/cmd/alignlab/internal/toy"
