/* Copies of requests that are safe to keep: the dead-letter topic, and
 * anything else an operator may read. Pure module: jansson only.
 * locality: any thread. */
#ifndef EGW_REDACT_H
#define EGW_REDACT_H

#include <stddef.h>

/* A copy of the request text (len bytes, need not be NUL-terminated) with
 * every secret of the contract removed:
 *  - room.pin, storage.access_key/secret_key/session_token/credentials_json/
 *    account_key and webhook.secret become "***";
 *  - outputs[].urls[], add_urls[] and remove_urls[] are reduced to scheme
 *    and host: rtmp://live.example.test/ followed by three stars (and
 *    user-info masked);
 *  - as a safety net, any value under a key whose name contains key,
 *    secret, token, pin, password, credential or auth becomes "***", and
 *    any string holding a URL with user-info, a query or a path beyond its
 *    first segment is reduced the same way.
 * Text that is not JSON, or longer than a request may be, is not copied at
 * all: the result is {"redacted":"<why>","size":N,"fnv1a64":"<hex>"}.
 * Returns compact JSON (malloc'd, NUL-terminated, length in *out_len), or
 * NULL when out of memory. */
char *egw_request_redact(const char *text, size_t len, size_t *out_len);

#endif
