/*
 * The one strict number parser used for options, environment values, repro
 * files and schedules: the whole string must be a number (no sign, no
 * spaces, no trailing text), and it must lie in [min, max].  Nothing is
 * wrapped or truncated into range.
 */
#ifndef MIGRACE_NUM_H
#define MIGRACE_NUM_H

#include <migrace/kernel.h>

enum num_status {
	NUM_OK,
	NUM_SYNTAX,	/* not a number */
	NUM_RANGE,	/* a number, outside [min, max] (or beyond u64) */
};

#define NUM_DEC 1	/* decimal digits */
#define NUM_HEX 2	/* 0x followed by hex digits */

/* Parses s[0..len) (len (size_t)-1: up to the NUL). */
enum num_status num_parse_u64(const char *s, size_t len, int bases, u64 min,
			      u64 max, u64 *out);

/*
 * Decimal seconds "N" or "N.F" (at most 9 fraction digits), strictly
 * positive and at most max: what --budget and --duration take.
 */
enum num_status num_parse_seconds(const char *s, double max, double *out);

/* Edit distance, for "did you mean" suggestions. */
int num_edit_distance(const char *a, const char *b);

#endif
