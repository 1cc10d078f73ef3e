// Package docs holds the project's prose; its test compiles and runs the Go
// code shown in writing-a-plugin.md against the current kernel, so that the
// guide cannot drift from the API it teaches.
package docs
