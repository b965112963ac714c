/* unit.mp4_cut: the whole part of a fragmented MP4 cut short. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pipelines/mp4_cut.h"

static char path[] = "/tmp/egw-mp4cut-XXXXXX";

static void box(FILE *f, const char *type, unsigned payload)
{
	unsigned len = payload + 8;
	unsigned char h[8] = {len >> 24, len >> 16 & 0xff, len >> 8 & 0xff, len & 0xff};
	memcpy(h + 4, type, 4);
	fwrite(h, 1, 8, f);
	for (unsigned i = 0; i < payload; i++)
		fputc(0x5a, f);
}

/* Writes the boxes "type:payload ..." and cuts the file to cut bytes
 * (or leaves it whole: -1); the whole length found. */
static int64_t whole(const char *boxes, long cut)
{
	FILE *f = fopen(path, "w");
	char type[5];
	unsigned n;
	int used;
	for (const char *p = boxes; sscanf(p, "%4s:%u%n", type, &n, &used) == 2; p += used)
		box(f, type, n);
	fclose(f);
	if (cut >= 0 && truncate(path, cut) != 0)
		return -2;
	int fd = open(path, O_RDONLY);
	int64_t len = egw_mp4_whole_length(fd);
	close(fd);
	return len;
}

int main(void)
{
	int fd = mkstemp(path);
	close(fd);
	/* ftyp 24, moov 108, then fragments of moof 48 + mdat 1008 */
	const char *two = "ftyp:16 moov:100 moof:40 mdat:1000 moof:40 mdat:1000";
	CHECK(whole(two, -1) == 24 + 108 + 2 * 1056);            /* whole: all of it */
	CHECK(whole(two, 24 + 108 + 1056 + 48 + 500) == 24 + 108 + 1056); /* mdat cut */
	CHECK(whole(two, 24 + 108 + 1056 + 48) == 24 + 108 + 1056);       /* no mdat yet */
	CHECK(whole(two, 24 + 108 + 1056 + 20) == 24 + 108 + 1056);       /* moof cut */
	CHECK(whole(two, 24 + 108 + 1056 + 4) == 24 + 108 + 1056);        /* a header cut */
	CHECK(whole(two, 24 + 50) == 24);                                   /* moov cut */
	CHECK(whole("ftyp:16 moov:100 moof:40 mdat:1000 mfra:30", -1) == 24 + 108 + 1056 + 38);
	CHECK(whole("moov:100", -1) == -1); /* not an MP4 that begins with ftyp */
	CHECK(whole("ftyp:16", 10) == 0);   /* nothing whole */
	unlink(path);
	return CHECK_DONE();
}
