// Package all registers every alignlab plugin. Programs and notebooks import
// it for its side effect, as image/png is imported for image.Decode:
//
//	import _ "github.com/alignlab/alignlab/algos/all"
package all

import (
	_ "github.com/alignlab/alignlab/algos/bilevel"
	_ "github.com/alignlab/alignlab/algos/bt"
	_ "github.com/alignlab/alignlab/algos/dpo"
	_ "github.com/alignlab/alignlab/algos/lm"
	_ "github.com/alignlab/alignlab/algos/nash"
	_ "github.com/alignlab/alignlab/algos/plural"
	_ "github.com/alignlab/alignlab/algos/sb"
	_ "github.com/alignlab/alignlab/algos/tdpo"
)
