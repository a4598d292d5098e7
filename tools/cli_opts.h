/*
 * The options of `migrace explore|repro|decode|minimize` and the MIGRACE_*
 * environment, parsed without side effects: no printing, no exit(), so
 * the parser fuzz target (fuzz/fuzz_repro.c) can call it too.
 */
#ifndef MIGRACE_CLI_OPTS_H
#define MIGRACE_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include <migrace/prog.h>

enum cli_cmd { CLI_EXPLORE, CLI_REPRO, CLI_DECODE, CLI_MINIMIZE, CLI_ENCODE,
	       NR_CLI_CMDS };

#define CLI_MIN_DEPTH 1
#define CLI_MAX_DEPTH 8
#define CLI_MAX_RUNS (1ULL << 62)
#define CLI_MAX_SECONDS 1e7	/* about 16 weeks */
#define CLI_MAX_FILES 4096	/* repro --ktap FILE... */

enum { SEARCH_RANDOM, SEARCH_FEEDBACK };

struct cli_opts {
	int strategy;
	int search;	/* explore: how programs are chosen (SEARCH_*) */
	int depth;
	unsigned long long runs;	/* 0: not given */
	double budget;			/* 0: not given */
	u64 seed;
	int cpus;
	int ops;
	bool have_revert, have_variant, have_arch;
	struct settings set;
	bool trace;
	bool verbose;
	bool quiet;
	bool check;		/* validate named points (default) */
	const char *out;	/* -o, any length: points into argv */
	const char *file;	/* the first FILE */
	bool cont;		/* repro --continue */
	bool ktap;		/* repro --ktap FILE... */
	bool check_determinism;	/* explore --check-determinism */
	bool have_strategy, have_seed, have_depth;
	int nfiles;		/* repro --ktap: FILE... */
	const char *files[CLI_MAX_FILES];
	const char *program;
};

/*
 * 0, or -1 with a one-line reason in @err (naming the option and the
 * accepted range).  @argv are the arguments after the command name.
 */
int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o,
	      char *err, size_t errlen);

/*
 * The fuzz targets' settings: MIGRACE_REVERT, MIGRACE_VARIANT,
 * MIGRACE_ARCH and MIGRACE_STRICT (NULL: unset).  An empty value is an error, as is a
 * variant or arch that does not exist.
 */
int cli_env(const char *revert, const char *variant, const char *arch,
	    const char *strict, struct settings *set, char *err,
	    size_t errlen);

/* The first bad name of a fix list (for messages); "" if none. */
void cli_bad_fix(const char *list, char *out, size_t len);

#endif
