/* Minimal assertion helpers for unit tests: each failed check prints where
 * and what, and the test exits non-zero at the end. */
#ifndef EGW_TEST_CHECK_H
#define EGW_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		check_count++;                                                       \
		if (!(cond)) {                                                       \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                    \
	} while (0)

#define CHECK_STR(got, want)                                                         \
	do {                                                                         \
		const char *g_ = (got), *w_ = (want);                                \
		check_count++;                                                       \
		if (!g_ || !w_ || strcmp(g_, w_)) {                                  \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
				g_ ? g_ : "(null)", w_ ? w_ : "(null)");             \
		}                                                                    \
	} while (0)

#define CHECK_DONE()                                                                 \
	(printf("%d checks, %d failed\n", check_count, check_failures), check_failures ? 1 : 0)

#endif
