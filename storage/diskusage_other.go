//go:build !unix

package storage

import "io/fs"

func diskUsage(info fs.FileInfo) int64 { return info.Size() }
