package memory

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSSMB reads a process's resident set from /proc in MB: the whole (VmRSS), and the
// part that is the process's own memory (RssAnon) rather than pages of files it maps
// (RssFile: Badger maps its tables and value log, and the kernel reclaims those pages
// under pressure).
func RSSMB(pid int) (total, anon int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			total = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		}
	}
	return total, anon
}
