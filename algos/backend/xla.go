//go:build xla

package backend

// With -tags xla, the XLA backend is compiled in, for users who have its
// PJRT plugin installed (GOMLX_BACKEND=xla:cpu or xla:cuda). Only the backend
// itself is imported, never its autoinstall package: alignlab must not
// download anything at run time.
import _ "github.com/gomlx/go-xla/compute/xla"
