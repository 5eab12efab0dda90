/* replay.h - `mchost replay FILE|- [--plugin SO] [--expect FILE]`. */
#ifndef MCHOST_REPLAY_H
#define MCHOST_REPLAY_H

#include <stddef.h>

int replay_main(int argc, char **argv);

/*
 * Checks a response (the bytes the host wrote) against a golden file: its
 * first line is the expected status line, the header lines after it must
 * each be in the response with that value (names case-insensitive; other
 * headers may be there too), and what follows its empty line, if
 * anything, is the expected body, byte for byte. Returns 0, or -1 with
 * what differs in why.
 */
int replay_expect(const char *res, size_t res_len, const char *want,
                  size_t want_len, char *why, size_t whylen);

#endif
