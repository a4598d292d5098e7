/*
 * Option parsing for the migrace command line (see cli_opts.h).  Every
 * number goes through the strict parser of include/migrace/num.h; an
 * option given twice, an option of another command, or a value out of
 * range is an error with a one-line reason, never a silent default.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <migrace/fixes.h>
#include <migrace/num.h>
#include <migrace/run.h>

#include "cli_opts.h"

enum {
	F_ARG = 1,		/* takes a value */
	F_EXPLORE = 1 << CLI_EXPLORE << 1,
	F_REPRO = 1 << CLI_REPRO << 1,
	F_DECODE = 1 << CLI_DECODE << 1,
	F_MINIMIZE = 1 << CLI_MINIMIZE << 1,
	F_ENCODE = 1 << CLI_ENCODE << 1,
};

enum opt_id {
	O_STRATEGY, O_DEPTH, O_RUNS, O_BUDGET, O_SEED, O_CPUS, O_OPS,
	O_REVERT, O_VARIANT, O_ARCH, O_STRICT, O_PROGRAM, O_OUT, O_VERBOSE,
	O_QUIET, O_TRACE, O_CHECK, O_NO_CHECK, O_CONTINUE, O_KTAP,
	O_CHECK_DET, O_SEARCH, NR_OPTS
};

static const struct {
	const char *name, *alias;
	int flags;
	const char *range;	/* what the value may be, for messages */
} opts[NR_OPTS] = {
	[O_STRATEGY] = { "--strategy", NULL, F_ARG | F_EXPLORE | F_REPRO,
			 "pct or random" },
	[O_DEPTH] = { "--depth", NULL, F_ARG | F_EXPLORE | F_REPRO, "1..8" },
	[O_RUNS] = { "--runs", NULL, F_ARG | F_EXPLORE, "1..4611686018427387904" },
	[O_BUDGET] = { "--budget", NULL, F_ARG | F_EXPLORE | F_MINIMIZE,
		       "seconds, N or N.F, above 0 and at most 10000000" },
	[O_SEED] = { "--seed", NULL, F_ARG | F_EXPLORE | F_REPRO | F_MINIMIZE,
		     "0..18446744073709551615, decimal or 0x hex" },
	[O_CPUS] = { "--cpus", NULL, F_ARG | F_EXPLORE, "2..4" },
	[O_OPS] = { "--ops", NULL, F_ARG | F_EXPLORE, "1..16" },
	[O_REVERT] = { "--revert", NULL, F_ARG | F_EXPLORE | F_REPRO,
		       "FIX[,FIX...], all or none; see 'migrace fixes'" },
	[O_VARIANT] = { "--variant", NULL, F_ARG | F_EXPLORE | F_REPRO,
			"upstream or rfc-unified" },
	[O_ARCH] = { "--arch", NULL, F_ARG | F_EXPLORE | F_REPRO, "x86 or vivt" },
	[O_STRICT] = { "--strict", NULL, F_EXPLORE | F_REPRO, NULL },
	[O_PROGRAM] = { "--program", NULL, F_ARG | F_EXPLORE, "a repro file" },
	[O_OUT] = { "-o", NULL, F_ARG | F_EXPLORE | F_REPRO | F_DECODE |
		    F_MINIMIZE | F_ENCODE, "a file path" },
	[O_VERBOSE] = { "-v", "--verbose", F_EXPLORE | F_MINIMIZE, NULL },
	[O_QUIET] = { "-q", "--quiet", F_EXPLORE, NULL },
	[O_TRACE] = { "--trace", NULL, F_REPRO, NULL },
	[O_CHECK] = { "--check", NULL, F_REPRO, NULL },
	[O_NO_CHECK] = { "--no-check", NULL, F_REPRO, NULL },
	[O_CONTINUE] = { "--continue", NULL, F_REPRO, NULL },
	[O_KTAP] = { "--ktap", NULL, F_REPRO, NULL },
	[O_CHECK_DET] = { "--check-determinism", NULL, F_EXPLORE, NULL },
	[O_SEARCH] = { "--search", NULL, F_ARG | F_EXPLORE,
		       "random or feedback" },
};

static const char *const cmd_names[NR_CLI_CMDS] = {
	"explore", "repro", "decode", "minimize", "encode",
};

static int fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

void cli_bad_fix(const char *list, char *out, size_t len)
{
	const char *tok = list;
	unsigned long m;

	out[0] = 0;
	if (!fixes_parse(list, &m))
		return;
	for (;;) {
		size_t n = strcspn(tok, ",");
		bool ok = false;

		for (int i = 0; i < NR_FIXES; i++)
			if (strlen(fix_table[i].name) == n &&
			    !strncmp(tok, fix_table[i].name, n))
				ok = true;
		if (!ok) {
			snprintf(out, len, "%.*s", (int)(n < 60 ? n : 60), tok);
			return;
		}
		if (!tok[n])
			return;
		tok += n + 1;
	}
}

static int parse_revert(const char *what, const char *v, unsigned long *mask,
			char *err, size_t len)
{
	char bad[64];

	if (!*v)
		return fail(err, len, "%s: empty fix list (FIX[,FIX...], all or none; see 'migrace fixes')",
			    what);
	if (!fixes_parse(v, mask))
		return 0;
	cli_bad_fix(v, bad, sizeof(bad));
	return fail(err, len, "%s: unknown fix '%s' (FIX[,FIX...], all or none alone; see 'migrace fixes')",
		    what, bad);
}

static int parse_variant(const char *what, const char *v, int *out,
			 char *err, size_t len)
{
	if (!strcmp(v, "upstream")) {
		*out = VARIANT_UPSTREAM;
		return 0;
	}
	if (!strcmp(v, "rfc-unified")) {
		*out = VARIANT_RFC_UNIFIED;
		return 0;
	}
	return fail(err, len, "%s: unknown variant '%.60s' (upstream or rfc-unified)",
		    what, v);
}

static int parse_arch(const char *what, const char *v, int *out, char *err,
		      size_t len)
{
	if (!strcmp(v, "x86")) {
		*out = ARCH_X86;
		return 0;
	}
	if (!strcmp(v, "vivt")) {
		*out = ARCH_VIVT;
		return 0;
	}
	return fail(err, len, "%s: unknown arch '%.60s' (x86 or vivt)", what,
		    v);
}

static int apply(int id, const char *v, struct cli_opts *o, char *err,
		 size_t len)
{
	const char *name = opts[id].name;
	u64 n = 0;
	int ret = 0;

	switch (id) {
	case O_STRATEGY:
		if (!strcmp(v, "pct"))
			o->strategy = STRAT_PCT;
		else if (!strcmp(v, "random"))
			o->strategy = STRAT_RANDOM;
		else
			ret = -1;
		break;
	case O_SEARCH:
		if (!strcmp(v, "random"))
			o->search = SEARCH_RANDOM;
		else if (!strcmp(v, "feedback"))
			o->search = SEARCH_FEEDBACK;
		else
			ret = -1;
		break;
	case O_DEPTH:
		ret = num_parse_u64(v, (size_t)-1, NUM_DEC, CLI_MIN_DEPTH,
				    CLI_MAX_DEPTH, &n) ? -1 : 0;
		o->depth = (int)n;
		break;
	case O_RUNS:
		ret = num_parse_u64(v, (size_t)-1, NUM_DEC, 1, CLI_MAX_RUNS,
				    &n) ? -1 : 0;
		o->runs = n;
		break;
	case O_BUDGET:
		ret = num_parse_seconds(v, CLI_MAX_SECONDS, &o->budget) ? -1 : 0;
		break;
	case O_SEED:
		ret = num_parse_u64(v, (size_t)-1, NUM_DEC | NUM_HEX, 0,
				    UINT64_MAX, &n) ? -1 : 0;
		o->seed = n;
		break;
	case O_CPUS:
		ret = num_parse_u64(v, (size_t)-1, NUM_DEC, 2, NR_CPUS, &n) ?
			      -1 : 0;
		o->cpus = (int)n;
		break;
	case O_OPS:
		ret = num_parse_u64(v, (size_t)-1, NUM_DEC, 1, MAX_OPS, &n) ?
			      -1 : 0;
		o->ops = (int)n;
		break;
	case O_REVERT:
		o->have_revert = true;
		return parse_revert(name, v, &o->set.reverted, err, len);
	case O_VARIANT:
		o->have_variant = true;
		return parse_variant(name, v, &o->set.variant, err, len);
	case O_ARCH:
		o->have_arch = true;
		return parse_arch(name, v, &o->set.arch, err, len);
	case O_STRICT:
		o->set.strict = true;
		break;
	case O_PROGRAM:
	case O_OUT:
		if (!*v)
			return fail(err, len, "%s: empty path", name);
		if (id == O_OUT)
			o->out = v;
		else
			o->program = v;
		break;
	case O_VERBOSE:
		o->verbose = true;
		break;
	case O_QUIET:
		o->quiet = true;
		break;
	case O_TRACE:
		o->trace = true;
		break;
	case O_CHECK:
		o->check = true;
		break;
	case O_NO_CHECK:
		o->check = false;
		break;
	case O_CONTINUE:
		o->cont = true;
		break;
	case O_KTAP:
		o->ktap = true;
		break;
	case O_CHECK_DET:
		o->check_determinism = true;
		break;
	}
	if (ret)
		return fail(err, len, "%s: '%.60s' is not valid (%s)", name, v,
			    opts[id].range);
	return 0;
}

static int find_opt(const char *a, size_t n)
{
	for (int i = 0; i < NR_OPTS; i++)
		if ((strlen(opts[i].name) == n && !strncmp(a, opts[i].name, n)) ||
		    (opts[i].alias && strlen(opts[i].alias) == n &&
		     !strncmp(a, opts[i].alias, n)))
			return i;
	return -1;
}

static const char *cmds_of(int flags)
{
	static char buf[64];
	size_t off = 0;

	buf[0] = 0;
	for (int c = 0; c < NR_CLI_CMDS; c++) {
		int left = 0;

		if (!(flags & (1 << c << 1)))
			continue;
		for (int d = c + 1; d < NR_CLI_CMDS; d++)
			left += !!(flags & (1 << d << 1));
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", cmd_names[c],
				left > 1 ? ", " : left ? " and " : "");
	}
	return buf;
}

int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_opts *o,
	      char *err, size_t len)
{
	const char *cname = cmd_names[cmd];
	bool seen[NR_OPTS] = { false }, dashdash = false;

	memset(o, 0, sizeof(*o));
	o->strategy = STRAT_PCT;
	o->search = SEARCH_RANDOM;
	o->depth = 3;
	o->cpus = 2;
	/*
	 * Each CPU draws 1..ops ops.  Longer lists hold the three or four ops
	 * of a race more often; 8 found four fixes about twice as often per
	 * schedule as 4, at 1.2 times the cost (docs/benchmarks.md).
	 */
	o->ops = 8;
	o->seed = 1;
	o->check = true;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		size_t n;
		int id;

		if (dashdash || a[0] != '-' || !strcmp(a, "-")) {
			if (cmd == CLI_EXPLORE)
				return fail(err, len, "explore takes no file argument ('%.60s'); did you mean --program?",
					    a);
			if (!*a)
				return fail(err, len, "%s: empty FILE argument",
					    cname);
			if (o->nfiles == CLI_MAX_FILES)
				return fail(err, len, "%s: more than %d FILEs",
					    cname, CLI_MAX_FILES);
			if (!o->file)
				o->file = a;
			o->files[o->nfiles++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			continue;
		}
		/* --name=value is accepted too */
		eq = a[1] == '-' ? strchr(a, '=') : NULL;
		n = eq ? (size_t)(eq - a) : strlen(a);
		id = find_opt(a, n);
		if (id < 0)
			return fail(err, len, "unknown option '%.*s' (see 'migrace --help')",
				    (int)(n < 60 ? n : 60), a);
		if (!(opts[id].flags & (1 << cmd << 1)))
			return fail(err, len, "%s is not an option of %s (%s only)",
				    opts[id].name, cname,
				    cmds_of(opts[id].flags));
		if (seen[id] || (id == O_CHECK && seen[O_NO_CHECK]) ||
		    (id == O_NO_CHECK && seen[O_CHECK]))
			return fail(err, len, "%s given twice", opts[id].name);
		seen[id] = true;
		if (opts[id].flags & F_ARG) {
			if (eq) {
				v = eq + 1;
			} else {
				if (i + 1 >= argc)
					return fail(err, len, "%s needs a value (%s)",
						    opts[id].name, opts[id].range);
				v = argv[++i];
			}
		} else if (eq) {
			return fail(err, len, "%s takes no value",
				    opts[id].name);
		}
		if (apply(id, v, o, err, len))
			return -1;
	}
	o->have_strategy = seen[O_STRATEGY];
	o->have_seed = seen[O_SEED];
	o->have_depth = seen[O_DEPTH];
	/* Only --ktap replays several files (--continue -o writes one). */
	if (o->nfiles > 1 && !o->ktap)
		return fail(err, len, "%s takes one FILE: unexpected '%.60s'",
			    cname, o->files[1]);
	if (cmd == CLI_REPRO && !o->cont) {
		static const int need_cont[] = { O_STRATEGY, O_SEED, O_DEPTH,
						 O_OUT };

		for (size_t k = 0; k < sizeof(need_cont) / sizeof(need_cont[0]); k++)
			if (seen[need_cont[k]])
				return fail(err, len, "%s: repro takes it only with --continue",
					    opts[need_cont[k]].name);
	}
	if (o->ktap && (o->cont || seen[O_TRACE] || seen[O_REVERT] ||
			seen[O_VARIANT] || seen[O_ARCH] || seen[O_STRICT]))
		return fail(err, len, "--ktap replays each FILE as written and with --revert none; it takes none of --continue, --trace, --revert, --variant, --arch, --strict");
	if (seen[O_RUNS] && seen[O_BUDGET])
		return fail(err, len, "--runs and --budget exclude each other (give one)");
	if (seen[O_PROGRAM] && (seen[O_CPUS] || seen[O_OPS]))
		return fail(err, len, "%s has no effect with --program (the file gives the CPUs and ops)",
			    seen[O_CPUS] ? "--cpus" : "--ops");
	if (seen[O_PROGRAM] && seen[O_SEARCH])
		return fail(err, len, "--search has no effect with --program (the file gives the program)");
	if (seen[O_QUIET] && seen[O_VERBOSE])
		return fail(err, len, "-q and -v exclude each other");
	if (cmd != CLI_EXPLORE && !o->file)
		return fail(err, len, "%s needs a FILE ('-' for standard input)",
			    cname);
	if (cmd == CLI_DECODE && !o->out)
		return fail(err, len, "decode needs -o REPRO");
	if (cmd == CLI_MINIMIZE && !o->out)
		return fail(err, len, "minimize needs -o OUT");
	if (cmd == CLI_ENCODE && !o->out)
		return fail(err, len, "encode needs -o FUZZ_INPUT");
	return 0;
}

int cli_env(const char *revert, const char *variant, const char *arch,
	    const char *strict, struct settings *set, char *err, size_t len)
{
	if (strict) {
		if (!*strict)
			return fail(err, len, "MIGRACE_STRICT is set but empty (unset it, or say 0 or 1)");
		if (!strcmp(strict, "1"))
			set->strict = true;
		else if (!strcmp(strict, "0"))
			set->strict = false;
		else
			return fail(err, len, "MIGRACE_STRICT must be 0 or 1, not '%s'",
				    strict);
	}
	if (revert) {
		if (!*revert)
			return fail(err, len, "MIGRACE_REVERT is set but empty (unset it, or say none)");
		if (parse_revert("MIGRACE_REVERT", revert, &set->reverted, err,
				 len))
			return -1;
	}
	if (variant) {
		if (!*variant)
			return fail(err, len, "MIGRACE_VARIANT is set but empty (unset it, or say upstream)");
		if (parse_variant("MIGRACE_VARIANT", variant, &set->variant,
				  err, len))
			return -1;
	}
	if (arch) {
		if (!*arch)
			return fail(err, len, "MIGRACE_ARCH is set but empty (unset it, or say x86)");
		if (parse_arch("MIGRACE_ARCH", arch, &set->arch, err, len))
			return -1;
	}
	return 0;
}
