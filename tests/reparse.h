/*
 * Print a repro and parse it back: the parser's checks are the definition
 * of a legal program (tests of the generator, the mutators, the decoder).
 */
#ifndef MIGRACE_TESTS_REPARSE_H
#define MIGRACE_TESTS_REPARSE_H

#include <stdio.h>

#include <migrace/prog.h>

static inline int reparse(const struct repro *r, struct repro *out, char *err,
			  size_t len)
{
	static char text[1 << 16];
	FILE *f = fmemopen(text, sizeof(text), "w");

	if (!f)
		return -1;
	repro_print(f, r);
	fputc(0, f);
	fclose(f);
	return repro_parse(text, out, err, len);
}

#endif
