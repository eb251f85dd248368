//go:build !linux

package storage

func watchCreations(string) creationWatch { return listing{} }
