/* Secrets (keys, tokens, stream URLs) leave no copy behind in freed
 * memory: wipe them before they are freed. explicit_bzero: the compiler
 * may not drop it as a store to memory about to be freed.
 * locality: any thread. */
#ifndef EGW_SECRET_H
#define EGW_SECRET_H

#include <string.h>

/* Overwrites the NUL-terminated string s (NULL ok) with zeros. */
static inline void egw_secret_wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

#endif
