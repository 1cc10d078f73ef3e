package kernel

import (
	"fmt"
	"sort"
	"sync"
)

// Registry is a concurrency-safe table of named entries in the manner of
// database/sql's drivers: Add panics on a duplicate (at start-up, not
// mid-experiment), Names are sorted, and old names can stay as aliases of
// new ones. The plugin registry is one; replicate's papers are another.
type Registry[T any] struct {
	what    string // "plugin", "paper": the word in panics
	mu      sync.RWMutex
	entries map[string]T
	aliases map[string]string // old name → current name
}

// NewRegistry returns an empty registry of entries called what.
func NewRegistry[T any](what string) *Registry[T] {
	return &Registry[T]{what: what, entries: map[string]T{}, aliases: map[string]string{}}
}

// Add registers v under name. It panics if name is taken (by an entry or
// an alias).
func (r *Registry[T]) Add(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[name]; dup {
		panic(fmt.Sprintf("kernel: Register called twice for %s %s", r.what, name))
	}
	if to, dup := r.aliases[name]; dup {
		panic(fmt.Sprintf("kernel: Register %s %s: the name is an alias of %s", r.what, name, to))
	}
	r.entries[name] = v
}

// Alias makes old another name of the registered entry name; Get(old)
// returns it and Canonical(old) says name. It panics if old is taken or
// name is not registered.
func (r *Registry[T]) Alias(old, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.entries[name]; !ok {
		panic(fmt.Sprintf("kernel: alias %s of %s %s, which is not registered", old, r.what, name))
	}
	if _, dup := r.entries[old]; dup {
		panic(fmt.Sprintf("kernel: alias %s: a %s has that name", old, r.what))
	}
	if _, dup := r.aliases[old]; dup {
		panic(fmt.Sprintf("kernel: alias %s declared twice", old))
	}
	r.aliases[old] = name
}

// Get returns the entry registered under name or under the alias name.
func (r *Registry[T]) Get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if to, ok := r.aliases[name]; ok {
		name = to
	}
	v, ok := r.entries[name]
	return v, ok
}

// Canonical returns the current name of an alias and true, or name and
// false when name is not an alias.
func (r *Registry[T]) Canonical(name string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if to, ok := r.aliases[name]; ok {
		return to, true
	}
	return name, false
}

// Names returns the registered names, sorted, without aliases.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Aliases returns every alias with the name it stands for.
func (r *Registry[T]) Aliases() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]string, len(r.aliases))
	for k, v := range r.aliases {
		out[k] = v
	}
	return out
}

// Remove deletes name and the aliases that point to it (for tests that
// register throw-away entries).
func (r *Registry[T]) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.entries, name)
	for old, to := range r.aliases {
		if to == name || old == name {
			delete(r.aliases, old)
		}
	}
}
