package main

import (
	"fmt"
	"strconv"
	"strings"
)

// flagScanner reads a command line in which long flags and positional
// arguments come in any order, the way run and replicate take them: a flag
// is "--name=value" or "--name value" (one dash or several), a boolean
// flag is "--name" alone or "--name=true|false", "-" is positional, and
// after "--" every argument is positional. The commands keep their own
// switch on the flag name, so each message stays next to the flag it is
// about; the scanner owns only what they share.
//
// kernel install|uninstall does not use it: there "-" and "--" are
// (unknown) flags, positionals are refused and "--user=x" ignores the x,
// and those forms stay as they are.
type flagScanner struct {
	args      []string
	next      int  // index in args of the argument after arg
	flagsDone bool // "--" has been read

	// The argument read by scan.
	arg      string
	isFlag   bool
	name     string // of a flag: arg without its dashes and "=value"
	value    string // of a flag: what follows "=", if hasValue
	hasValue bool
}

// scan reads the next argument; false at the end of the command line.
func (s *flagScanner) scan() bool {
	if s.next >= len(s.args) {
		return false
	}
	s.arg = s.args[s.next]
	s.next++
	if s.arg == "--" && !s.flagsDone {
		s.flagsDone = true
		return s.scan()
	}
	s.isFlag = !s.flagsDone && strings.HasPrefix(s.arg, "-") && s.arg != "-"
	s.name, s.value, s.hasValue = "", "", false
	if s.isFlag {
		s.name, s.value, s.hasValue = strings.Cut(strings.TrimLeft(s.arg, "-"), "=")
	}
	return true
}

// needValue returns the value of the flag just read: after its "=", else
// the next argument, whatever that looks like.
func (s *flagScanner) needValue() (string, error) {
	if s.hasValue {
		return s.value, nil
	}
	if s.next >= len(s.args) {
		return "", fmt.Errorf("flag --%s needs a value", s.name)
	}
	s.next++
	return s.args[s.next-1], nil
}

// needNonEmpty is needValue for a flag whose value must not be empty;
// what says what the value names ("a directory").
func (s *flagScanner) needNonEmpty(what string) (string, error) {
	value, err := s.needValue()
	if err == nil && value == "" {
		err = fmt.Errorf("--%s needs %s", s.name, what)
	}
	return value, err
}

// boolValue returns the value of the boolean flag just read: true when it
// stands alone.
func (s *flagScanner) boolValue() (bool, error) {
	if !s.hasValue {
		return true, nil
	}
	b, err := strconv.ParseBool(s.value)
	if err != nil {
		return false, fmt.Errorf("--%s=%s: want true or false", s.name, s.value)
	}
	return b, nil
}

// unknown is the error for a flag that cmd does not take; want lists the
// ones it does, as "--a, --b or --c".
func (s *flagScanner) unknown(cmd, want string) error {
	return fmt.Errorf("unknown flag %s for %s (want %s)", s.arg, cmd, want)
}
