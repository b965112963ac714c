/* The whole part of a fragmented MP4 (see mp4_cut.h). */
#include "pipelines/mp4_cut.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int64_t egw_mp4_whole_length(int fd)
{
	struct stat st;
	unsigned char h[16];
	uint64_t pos = 0, keep = 0, size;
	int after_moof = 0;

	if (fstat(fd, &st) != 0)
		return -1;
	size = (uint64_t)st.st_size;
	while (pos + 8 <= size) {
		uint64_t len;
		int hl = 8;
		if (pread(fd, h, sizeof(h), (off_t)pos) < 8)
			return -1;
		len = be(h, 4);
		if (len == 1) { /* a 64-bit size follows the type */
			if (pos + 16 > size)
				break;
			len = be(h + 8, 8);
			hl = 16;
		} else if (len == 0) { /* up to the end of the file */
			len = size - pos;
		}
		if (len < (uint64_t)hl || (pos == 0 && memcmp(h + 4, "ftyp", 4)))
			return pos == 0 ? -1 : (int64_t)keep;
		if (len > size - pos)
			break; /* cut short */
		if (!memcmp(h + 4, "moof", 4)) {
			after_moof = 1; /* whole only with its mdat */
		} else {
			if (!after_moof || !memcmp(h + 4, "mdat", 4))
				keep = pos + len;
			after_moof = 0;
		}
		pos += len;
	}
	return (int64_t)keep;
}
