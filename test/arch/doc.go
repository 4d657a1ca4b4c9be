// Package arch holds the import-direction test: the layers of avatarbus and which package may
// import which, written as a table (imports_test.go) and checked against `go list`. See
// docs/architecture.md ("Import rules").
package arch
