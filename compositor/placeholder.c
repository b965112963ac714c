/* What stands in for a participant without video: the initials of its
 * display name on a colour of its own. */
#include "compositor/compositor_int.h"

#include <string.h>

/* Mid-dark colours that white initials read well on. */
static const uint32_t palette[] = {
	0x2e5a88, /* steel blue */
	0x3b7a57, /* green */
	0x8e4a49, /* brick */
	0x6a4c93, /* violet */
	0x1f7a7a, /* teal */
	0xa05a2c, /* copper */
	0x5b6b2a, /* olive */
	0x7a3e65, /* plum */
	0x355c7d, /* slate blue */
	0x8c6d1f, /* ochre */
	0x4f5b93, /* indigo */
	0x2f6f4f, /* forest */
};

static int is_space(unsigned char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static int is_alnum(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* The length of the UTF-8 sequence at s (1 to 4 bytes), 0 when it is not
 * one. Never reads past a NUL. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Appends the letter at s (len bytes), ASCII upper-cased, when it fits. */
static void append_letter(char *out, size_t out_size, const unsigned char *s, size_t len)
{
	size_t used = strlen(out);

	if (used + len >= out_size)
		return;
	memcpy(out + used, s, len);
	if (len == 1 && out[used] >= 'a' && out[used] <= 'z')
		out[used] = (char)(out[used] - 'a' + 'A');
	out[used + len] = '\0';
}

/* The first letter of the first and of the last word: "Alice Brown" is
 * "AB", "bob" is "B", "Jean-Luc de la Tour" is "JT". A word's letter is its
 * first ASCII letter or digit or non-ASCII character; "?" when there is
 * none. */
void egw_placeholder_initials(const char *name, char *out, size_t out_size)
{
	const unsigned char *s = (const unsigned char *)(name ? name : "");
	const unsigned char *first = NULL, *last = NULL;
	size_t first_len = 0, last_len = 0;

	if (!out || !out_size)
		return;
	out[0] = '\0';
	while (*s) {
		const unsigned char *letter = NULL;
		size_t letter_len = 0;

		while (*s && is_space(*s))
			s++;
		for (; *s && !is_space(*s);) {
			size_t len = utf8_len(s);
			if (!letter && len && (len > 1 || is_alnum(*s))) {
				letter = s;
				letter_len = len;
			}
			s += len ? len : 1;
		}
		if (letter && !first) {
			first = letter;
			first_len = letter_len;
		} else if (letter) {
			last = letter;
			last_len = letter_len;
		}
	}
	if (!first) {
		append_letter(out, out_size, (const unsigned char *)"?", 1);
		return;
	}
	append_letter(out, out_size, first, first_len);
	if (last)
		append_letter(out, out_size, last, last_len);
}

/* FNV-1a of the participant id into the palette. */
uint32_t egw_placeholder_color(const char *participant_id)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *s = (const unsigned char *)(participant_id ? participant_id : "");
	     *s; s++) {
		h ^= *s;
		h *= 16777619u;
	}
	return palette[h % (sizeof(palette) / sizeof(palette[0]))];
}
