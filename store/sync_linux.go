package store

import (
	"os"
	"syscall"
)

// fdatasync flushes the file's data (and only the metadata needed to read it back): the log
// is overwritten in place, so its size rarely changes and the inode need not be written.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
