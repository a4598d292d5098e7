/*
 * fuzz_repro: the parsers.  The first byte chooses what the rest is:
 *   even: repro text.  If it parses, every field must be in range, and
 *         printing it and parsing the print must give the same repro
 *         (round trip); the named-point check must not crash.
 *         A repro that a fuzz input can hold (2..4 CPUs, no named points)
 *         must come back from encode_input() + decode_input() equal.
 *   1 mod 4: an option vector (NUL- or newline-separated words) for
 *         explore, repro, decode or encode; an accepted vector must be in
 *         range, a refused one must come with a one-line reason.
 *   3 mod 4: fuzz_migrate input bytes: they must decode to a program the
 *         repro parser accepts as printed (any bytes are legal).
 * A violated property abort()s, so the fuzzer keeps the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migrace/prog.h>
#include <migrace/run.h>

#include "cli_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_repro: property violated: %s\n", what);
		abort();
	}
}

static void one_line(const char *err)
{
	check(err[0] != 0, "an error without a reason");
	check(strchr(err, '\n') == NULL, "an error of more than one line");
}

static void check_ranges(const struct repro *r)
{
	const struct program *p = &r->prog;

	check(p->ncpus >= 1 && p->ncpus <= NR_CPUS, "ncpus");
	check(r->settings.variant == VARIANT_UPSTREAM ||
	      r->settings.variant == VARIANT_RFC_UNIFIED, "variant");
	check(r->settings.arch == ARCH_X86 || r->settings.arch == ARCH_VIVT,
	      "arch");
	for (int c = 0; c < p->ncpus; c++) {
		check(p->nops[c] >= 0 && p->nops[c] <= MAX_OPS, "nops");
		for (int i = 0; i < p->nops[c]; i++) {
			const struct op *op = &p->ops[c][i];
			u16 args;

			check(op->kind < NR_OP_KINDS, "op kind");
			args = op_sigs[op->kind].args;
			check(op->proc < MAX_PROCS, "op process");
			check(op->page < REGION_PAGES, "op page");
			check(op->npages >= 1 &&
			      op->page + op->npages <= REGION_PAGES,
			      "op page count");
			check(op->slot == NR_CPUS || op->slot < p->ncpus ||
			      op->slot == DEV_SLOT, "op slot");
			check(!(op->decline >> op->npages) &&
			      !(op->failcopy >> op->npages), "op masks");
			check((args & OPA_ADVICE) ? advice_name(op->advice) != NULL :
						    op->advice == 0, "op advice");
			check((args & OPA_MEM) ? op->mem >= 1 && op->mem <= MEM_ALL :
						 op->mem == 0, "op memory kind");
			check(op->node < NR_NODES, "op node");
		}
	}
	check(r->sched.nseg >= 0 && r->sched.nseg <= MAX_SEGS, "nseg");
	for (int i = 0; i < r->sched.nseg; i++) {
		const struct segment *sg = &r->sched.seg[i];

		check(sg->cpu < p->ncpus, "segment cpu");
		check(sg->kind <= SEG_RELEASES, "segment kind");
		check(sg->kind == SEG_END || sg->count >= 1, "segment count");
		check(memchr(sg->what, 0, SEG_NAME_LEN) &&
		      memchr(sg->func, 0, SEG_NAME_LEN), "segment names");
		check(sg->kind == SEG_UNTIL ? sg->what[0] != 0 :
					      !sg->what[0] && !sg->func[0],
		      "segment point");
	}
}

/* Print @a, parse the print: the same repro. */
static void round_trip(const struct repro *a, struct repro *b)
{
	char err[512], *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	check(f != NULL, "open_memstream");
	repro_print(f, a);
	check(fclose(f) == 0, "print");
	if (repro_parse_buf(text, len, "print", b, err, sizeof(err))) {
		fprintf(stderr, "fuzz_repro: the print does not parse: %s\n%s",
			err, text);
		abort();
	}
	if (!repro_equal(a, b)) {
		fprintf(stderr, "fuzz_repro: round trip changed the repro:\n%s",
			text);
		abort();
	}
	free(text);
}

static void fuzz_bytes(const uint8_t *data, size_t size)
{
	static struct repro a, b;

	decode_input(data, size, &a);
	check_ranges(&a);
	round_trip(&a, &b);
}

/* encode_input() inverts decode_input() on what a fuzz input can hold. */
static void encode_round_trip(const struct repro *a)
{
	static struct repro b;
	static uint8_t buf[1 << 16];
	long n = encode_input(a, buf, sizeof(buf));
	bool named = false;

	for (int i = 0; i < a->sched.nseg; i++)
		named |= a->sched.seg[i].kind == SEG_UNTIL;
	if (a->prog.ncpus < 2 || named) {
		check(n < 0, "encode of what a fuzz input cannot hold");
		return;
	}
	for (int i = 0; i < a->sched.nseg; i++)
		if (a->sched.seg[i].count > 1024)
			return;	/* split into several: equal runs, not equal files */
	check(n >= 0, "encode");
	decode_input(buf, (size_t)n, &b);
	b.settings = a->settings;
	if (!repro_equal(a, &b)) {
		fprintf(stderr, "fuzz_repro: encode + decode changed the repro\n");
		abort();
	}
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	static struct repro a, b;
	char err[512];

	if (repro_parse_buf((const char *)data, size, "fuzz", &a, err,
			    sizeof(err))) {
		one_line(err);
		return;
	}
	check_ranges(&a);
	if (repro_check_points(&a, "fuzz", err, sizeof(err)))
		one_line(err);
	round_trip(&a, &b);
	encode_round_trip(&a);
}

static void fuzz_argv(const uint8_t *data, size_t size)
{
	enum { MAX_ARGS = 16 };
	static const char *const env_vals[] = { NULL, "", "none", "all" };
	char *buf = malloc(size + 1), *argv[MAX_ARGS];
	int argc = 0;
	enum cli_cmd cmd;
	struct cli_opts o;
	struct settings set = { 0 };
	char err[512];

	check(buf != NULL, "malloc");
	if (!size) {
		free(buf);
		return;
	}
	cmd = (enum cli_cmd)(data[0] % NR_CLI_CMDS);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	/* words separated by NUL or newline */
	for (char *p = buf; argc < MAX_ARGS && p < buf + size - 1;) {
		size_t n = strcspn(p, "\n");

		p[n] = 0;
		argv[argc++] = p;
		p += n + 1;
	}
	if (cli_parse(cmd, argc, argv, &o, err, sizeof(err))) {
		one_line(err);
	} else {
		check(o.cpus >= 2 && o.cpus <= NR_CPUS, "--cpus");
		check(o.ops >= 1 && o.ops <= MAX_OPS, "--ops");
		check(o.depth >= CLI_MIN_DEPTH && o.depth <= CLI_MAX_DEPTH,
		      "--depth");
		check(o.runs <= CLI_MAX_RUNS, "--runs");
		check(o.budget >= 0 && o.budget <= CLI_MAX_SECONDS,
		      "--budget");
		check(!(o.runs && o.budget), "--runs with --budget");
		check(o.set.variant == VARIANT_UPSTREAM &&
		      (o.set.arch == ARCH_X86 || o.set.arch == ARCH_VIVT),
		      "variant/arch");
		check(cmd == CLI_EXPLORE || o.file != NULL, "FILE");
		check(!o.out || o.out[0], "-o");
	}
	/* The environment parser, on the same words. */
	if (cli_env(argc > 0 ? argv[0] : env_vals[data[0] % 4],
		    argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL,
		    argc > 3 ? argv[3] : NULL, &set,
		    err, sizeof(err)))
		one_line(err);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if ((data[0] & 3) == 3)
		fuzz_bytes(data + 1, size - 1);
	else if (data[0] & 1)
		fuzz_argv(data + 1, size - 1);
	else
		fuzz_text(data + 1, size - 1);
	return 0;
}
