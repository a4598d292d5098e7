/*
 * Fuzzer input <-> program and schedule.
 *
 * The bytes are cut into streams so that a mutation of one leaves the
 * others as they were (a fuzzer's byte flips, insertions and truncations
 * then change one CPU's ops, or the schedule, not everything after them):
 *
 *   HEADER  0xff TAG STREAM  0xff TAG STREAM ...      TAG = 0xf8..0xff
 *
 * HEADER is what comes before the first separator (the two bytes 0xff
 * TAG), read by position (a missing byte reads 0):
 *   h0  the CPU count: h0 & 3 is 0 or 1: 2 CPUs, 2: 3 CPUs, 3: 4 CPUs
 *   h1  set-up: bit 0 no populate, 1 fork, 2 warm, 3 swapped (with populate)
 *   h2  bit 0 set: the schedule stream.  Bit 0 clear: PCT runs (the
 *       schedule stream is not read), as explore runs a program: bits
 *       1-2 the depth, 3 4 1 2 (3 when 0: two change points); bits 3-4
 *       the number of schedules, 4 3 2 1 (4 when 0), each with its own
 *       seed, the first with the expected length est_of[h2 >> 5] and the
 *       next ones with the longest run so far, the second of every four
 *       a random schedule (fuzz_run_input()).  So a
 *       short input gets PCT's guarantees, several times.
 *   h3..h6  the PCT seed, big-endian
 * TAG & 7 names the stream: 0..3 the ops of that CPU (ignored while the
 * CPU count is lower, so the CPU count does not reinterpret them), 4..7
 * the schedule.  Two streams with the same tag are one, in order.
 *
 * Inside a stream a byte with the top bit set starts a record and the
 * bytes below 0x80 after it are its arguments; arguments a record does
 * not have read 0, extra ones are ignored, and bytes before the first
 * record are skipped.  So an inserted byte changes one record, a
 * truncation drops the records past the cut, and every byte string is a
 * legal program: nothing here can be out of range.
 *
 * An op record: lead 0x80 | kind (kind = (lead & 0x7f) % NR_OP_KINDS),
 * then up to 7 argument bytes, each field used only by the op kinds that
 * take it (op_sigs[]):
 *   a0  page (bits 0-1), npages - 1 (bits 2-3, clamped), process (4-5)
 *   a1  slot + 1 (bits 0-2; 0 or above the CPUs: the CPU's own slot),
 *       (7: the device's slot), madvise advice (3-4), mprotect
 *       PROT_WRITE (5), node (6)
 *   a2  pin flags or MPOL_MF_MOVE_ALL (bits 0-2), device memory kind (3-4),
 *       migrate_to_device's fault (5)
 *   a3  decline mask (bits 0-3)   a4  failcopy mask (bits 0-3)
 *   a5  unbind spare mask bits 0-6   a6  spare bit 7 (bit 0)
 * A schedule record ("run CPU c ..."): lead 0x80 | kind << 5 | cpu << 3 |
 * hi, kind 0 or 3 events, 1 release events, 2 to its end; count
 * 1 + (hi << 7 | a0).  The CPU is taken modulo the CPU count.
 *
 * In PCT mode the fuzzer steers the program and PCT the schedule (with
 * its guarantees; the seed bytes pick the schedule); `migrace decode`
 * runs such an input and writes the schedule it executed.
 * encode_input() is the inverse for programs and machine-form schedules:
 * `migrace encode` makes seeds from repro files.  A new op field takes a
 * free bit or a new argument byte here; a new op kind needs nothing here,
 * but a seed (corpus/fuzz_seeds/<op>.repro, ci/make-seeds.sh).
 */
#include <migrace/mm.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#define SEP 0xff
#define TAG_BASE 0xf8	/* 0xff then a byte >= this: a separator */
#define TAG_SCHED 4
#define OP_ARGS 7
#define SEG_COUNT_MAX 1024

/* One stream: the chunks of the input with its tag, in order. */
struct stream {
	const u8 *data;
	size_t size;
	size_t chunk_end;	/* end of the current chunk */
	size_t pos;
	int tag;
};

/* Where the chunk starting at @pos ends (at the next SEP or the end). */
static size_t chunk_end(const u8 *d, size_t n, size_t pos)
{
	for (size_t i = pos; i + 1 < n; i++)
		if (d[i] == SEP && d[i + 1] >= TAG_BASE)
			return i;
	return n;
}

/* Move to the next chunk whose tag matches; false at the end. */
static bool next_chunk(struct stream *s)
{
	const u8 *d = s->data;
	size_t n = s->size, i = s->chunk_end;

	/* i is at a separator, or at the end */
	while (i + 1 < n) {
		size_t body = i + 2;
		int tag = d[i + 1] & 7;

		if (tag > TAG_SCHED)
			tag = TAG_SCHED;
		i = chunk_end(d, n, body);
		if (tag == s->tag) {
			s->pos = body;
			s->chunk_end = i;
			return true;
		}
	}
	return false;
}

static void stream_open(struct stream *s, const u8 *d, size_t n, int tag)
{
	s->data = d;
	s->size = n;
	s->tag = tag;
	/* the header's end is the first chunk boundary */
	s->chunk_end = chunk_end(d, n, 0);
	s->pos = s->chunk_end;
}

/*
 * The next record of the stream: its lead byte and up to @max argument
 * bytes (the rest 0).  False at the end of the stream.
 */
static bool next_record(struct stream *s, u8 *lead, u8 *args, int max)
{
	for (;;) {
		while (s->pos < s->chunk_end && s->data[s->pos] < 0x80)
			s->pos++;	/* arguments without a record */
		if (s->pos < s->chunk_end)
			break;
		if (!next_chunk(s))
			return false;
	}
	*lead = s->data[s->pos++];
	memset(args, 0, max);
	for (int i = 0; s->pos < s->chunk_end && s->data[s->pos] < 0x80; i++) {
		if (i < max)
			args[i] = s->data[s->pos];
		s->pos++;
	}
	return true;
}

static const u8 ncpus_of[4] = { 2, 2, 3, 4 };
/* PCT mode: header byte 2's fields (0 reads as explore's defaults) */
static const u8 depth_of[4] = { 3, 4, 1, 2 };
static const u16 est_of[8] = { 512, 128, 256, 384, 768, 1024, 1536, 2048 };

/* The op a record gives, in the form the repro parser gives it. */
static void decode_op(struct op *op, u8 lead, const u8 *a, int ncpus)
{
	u16 args;
	int slot;

	memset(op, 0, sizeof(*op));
	op->kind = (lead & 0x7f) % NR_OP_KINDS;
	args = op_sigs[op->kind].args;
	op->slot = NR_CPUS;
	op->npages = 1;
	op->proc = (a[0] >> 4) & 3;
	if (args & OPA_PAGE)
		op->page = a[0] & 3;
	if (args & OPA_NPAGES)
		op->npages = 1 + min((a[0] >> 2) & 3,
				     REGION_PAGES - 1 - op->page);
	slot = (a[1] & 7) - 1;
	if ((args & OPA_SLOT) && slot >= 0 && slot < ncpus)
		op->slot = slot;
	/* 7: the device's slot (DEV_SLOT), for any load */
	if ((args & OPA_SLOT) && (a[1] & 7) == 7)
		op->slot = DEV_SLOT;
	if (args & OPA_ADVICE)
		op->advice = op_advices[(a[1] >> 3) & 3];
	if (args & OPA_PROT)
		op->prot = PROT_READ | ((a[1] & 0x20) ? PROT_WRITE : 0);
	if (args & OPA_NODE)
		op->node = ((a[1] >> 6) & 1) % NR_NODES;
	if (args & OPA_PINFLAGS)
		op->flags = a[2] & PIN_ALL;
	if (args & OPA_MOVEALL)
		op->flags = a[2] & MOVE_ALL;
	if (args & OPA_FAULT)
		op->flags = (a[2] >> 5) & MIGRATE_FAULT;
	if (args & OPA_MEM)	/* 0 reads as the default, as parsed */
		op->mem = ((a[2] >> 3) & MEM_ALL) ?: MEM_PRIVATE;
	if (args & OPA_MASKS) {
		op->decline = a[3] & 0xf & ((1u << op->npages) - 1);
		op->failcopy = a[4] & 0xf & ((1u << op->npages) - 1);
	}
	if (args & OPA_SPARE)
		op->spare = (a[5] & 0x7f) | (a[6] & 1) << 7;
}

void decode_input(const u8 *data, size_t size, struct repro *r)
{
	struct program *p = &r->prog;
	size_t hlen = chunk_end(data, size, 0);
	u8 h[7] = { 0 };
	struct stream s;
	u8 lead, a[OP_ARGS];

	memset(r, 0, sizeof(*r));
	memcpy(h, data, min(hlen, sizeof(h)));
	p->ncpus = ncpus_of[h[0] & 3];
	p->populate = !(h[1] & 1);
	p->forked = (h[1] >> 1) & 1;
	p->warm = (h[1] >> 2) & 1;
	p->swapped = p->populate && ((h[1] >> 3) & 1);
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		stream_open(&s, data, size, cpu);
		while (p->nops[cpu] < MAX_OPS &&
		       next_record(&s, &lead, a, OP_ARGS))
			decode_op(&p->ops[cpu][p->nops[cpu]++], lead, a,
				  p->ncpus);
	}
	if (!(h[2] & 1)) {
		r->pct.on = true;
		r->pct.depth = depth_of[(h[2] >> 1) & 3];
		r->pct.schedules = 4 - ((h[2] >> 3) & 3);
		r->pct.est_steps = est_of[h[2] >> 5];
		for (int i = 3; i < 7; i++)
			r->pct.seed = r->pct.seed << 8 | h[i];
		return;
	}
	stream_open(&s, data, size, TAG_SCHED);
	while (r->sched.nseg < MAX_SEGS && next_record(&s, &lead, a, 1)) {
		struct segment *sg = &r->sched.seg[r->sched.nseg++];
		int kind = (lead >> 5) & 3;

		sg->cpu = ((lead >> 3) & 3) % p->ncpus;
		sg->count = 1 + ((lead & 7) << 7 | a[0]);
		if (kind == 1) {
			sg->kind = SEG_RELEASES;
		} else if (kind == 2) {
			sg->kind = SEG_END;
			sg->count = 0;
		} else {
			sg->kind = SEG_STEPS;
		}
	}
}

void decode_strategy(const struct repro *r, struct strategy *st)
{
	memset(st, 0, sizeof(*st));
	if (r->pct.on) {
		st->kind = STRAT_PCT;
		st->seed = r->pct.seed;
		st->depth = r->pct.depth;
		st->est_steps = r->pct.est_steps;
	} else {
		st->kind = STRAT_REPLAY;
		st->replay = &r->sched;
	}
}

/*
 * The input's runs, as the fuzz targets and `migrace decode` make them:
 * its schedule once, or its PCT schedules one after the other as explore
 * runs a program (the first with the input's seed and length guess, the
 * next with seeds drawn from it and the longest run so far as the
 * guess), up to the first report.  1 if one reported: @res is that run.
 * The second of every four runs is a random schedule instead: the fixes
 * explore's random strategy finds well and PCT finds slowly
 * (flush-cache-page, device-private-fault-ref, exclusive-fault-ref) took
 * libFuzzer a median of 14 to over 20 s with PCT only, and 4 to 6 s so
 * (docs/benchmarks.md).
 */
unsigned long fuzz_schedules;

int fuzz_run_input(const struct repro *r, struct run_result *res, bool hash)
{
	int n = r->pct.on ? max(r->pct.schedules, 1) : 1;
	struct rng g = { r->pct.seed ^ 0xd1b54a32d192ed03ULL };
	struct strategy st;
	u64 est = 0, est_sync = 0;

	decode_strategy(r, &st);
	st.no_hash = !hash;
	for (int i = 0; i < n; i++) {
		if (i) {
			st.seed = rng_next(&g);
			st.est_steps = est;
			st.est_sync = est_sync;
			st.kind = (i % 4 == 1) ? STRAT_RANDOM : STRAT_PCT;
		}
		fuzz_schedules++;
		if (run_program(&r->prog, &r->settings, &st, NULL, res))
			return 1;
		est = max(est, res->steps);
		est_sync = max(est_sync, res->sync_steps);
	}
	return 0;
}

/* ---- the inverse: seeds from repro files ---- */

struct out {
	u8 *buf;
	size_t cap, n;
	bool full;
};

static void put(struct out *o, u8 b)
{
	if (o->n < o->cap)
		o->buf[o->n++] = b;
	else
		o->full = true;
}

static void put_record(struct out *o, u8 lead, const u8 *a, int nargs)
{
	/* trailing zero arguments read as 0 anyway */
	while (nargs && !a[nargs - 1])
		nargs--;
	put(o, lead);
	for (int i = 0; i < nargs; i++)
		put(o, a[i]);
}

static void encode_op(struct out *o, const struct op *op, int ncpus)
{
	u8 a[OP_ARGS] = { 0 };
	u16 args = op->kind < NR_OP_KINDS ? op_sigs[op->kind].args : 0;

	/* only the fields the kind has: the bytes are what decoding gives */
	a[0] = (op->proc & 3) << 4;
	if (args & OPA_PAGE)
		a[0] |= op->page & 3;
	if (args & OPA_NPAGES)
		a[0] |= ((op->npages - 1) & 3) << 2;
	if ((args & OPA_SLOT) && op->slot < ncpus)
		a[1] |= op->slot + 1;
	if ((args & OPA_SLOT) && op->slot == DEV_SLOT)
		a[1] |= 7;
	for (int i = 0; i < NR_ADVICES; i++)
		if ((args & OPA_ADVICE) && op_advices[i] == op->advice)
			a[1] |= i << 3;
	if ((args & OPA_PROT) && (op->prot & PROT_WRITE))
		a[1] |= 0x20;
	if (args & OPA_NODE)
		a[1] |= (op->node & 1) << 6;
	if (args & (OPA_PINFLAGS | OPA_MOVEALL))
		a[2] |= op->flags & 7;
	if (args & OPA_MEM)
		a[2] |= (op->mem & MEM_ALL) << 3;
	if (args & OPA_FAULT)
		a[2] |= (op->flags & MIGRATE_FAULT) << 5;
	if (args & OPA_MASKS) {
		a[3] = op->decline & 0xf;
		a[4] = op->failcopy & 0xf;
	}
	if (args & OPA_SPARE) {
		a[5] = op->spare & 0x7f;
		a[6] = op->spare >> 7;
	}
	put_record(o, 0x80 | op->kind, a, OP_ARGS);
}

static void put_sep(struct out *o, u8 tag)
{
	put(o, SEP);
	put(o, TAG_BASE | tag);
}

/*
 * Header byte 2 for PCT mode: the fields decode_input() reads, each the
 * nearest value the format has (the seed keeps its low 32 bits).
 */
static u8 pct_header(const struct fuzz_pct *pct)
{
	int d = 0, e = 0;
	int depth = pct->depth < 1 ? 1 : pct->depth > 4 ? 4 : pct->depth;
	int n = pct->schedules < 1 ? 1 : pct->schedules > 4 ? 4 : pct->schedules;
	u64 best = ~0ULL;

	for (int i = 0; i < 4; i++)
		if (depth_of[i] == depth)
			d = i;
	for (int i = 0; i < 8; i++) {
		u64 diff = est_of[i] > pct->est_steps ?
				   est_of[i] - pct->est_steps :
				   pct->est_steps - est_of[i];

		if (diff < best) {
			best = diff;
			e = i;
		}
	}
	return d << 1 | (4 - n) << 3 | e << 5;
}

long encode_input(const struct repro *r, u8 *buf, size_t cap)
{
	const struct program *p = &r->prog;
	struct out o = { buf, cap, 0, false };

	if (p->ncpus < 2 || p->ncpus > 4)
		return -1;
	for (int i = 0; i < r->sched.nseg; i++)
		if (r->sched.seg[i].kind == SEG_UNTIL)
			return -1;	/* named points: run it, take the executed */
	put(&o, p->ncpus == 2 ? 0 : p->ncpus - 1);
	put(&o, (!p->populate) | p->forked << 1 | p->warm << 2 |
		(p->populate && p->swapped) << 3);
	if (r->pct.on) {
		put(&o, pct_header(&r->pct));
		/* a 0xff could start a separator: the nearest is 0xfe */
		for (int i = 3; i >= 0; i--)
			put(&o, min((u8)(r->pct.seed >> (8 * i)), (u8)0xfe));
	} else {
		put(&o, 1);	/* the schedule stream, not PCT */
	}
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		put_sep(&o, cpu);
		for (int i = 0; i < p->nops[cpu]; i++)
			encode_op(&o, &p->ops[cpu][i], p->ncpus);
	}
	if (r->pct.on)
		return o.full ? -1 : (long)o.n;
	if (r->sched.nseg)
		put_sep(&o, TAG_SCHED);
	for (int i = 0; i < r->sched.nseg; i++) {
		const struct segment *sg = &r->sched.seg[i];
		u32 left = sg->count ? sg->count : 1;
		u8 kind = sg->kind == SEG_RELEASES ? 1 :
			  sg->kind == SEG_END ? 2 : 0;

		if (kind == 2) {
			put(&o, 0x80 | kind << 5 | sg->cpu << 3);
			continue;
		}
		/* a long segment is several in a row on the same CPU */
		while (left) {
			u32 n = min(left, (u32)SEG_COUNT_MAX) - 1;
			u8 lo = n & 0x7f;

			put_record(&o, 0x80 | kind << 5 | sg->cpu << 3 | n >> 7,
				   &lo, 1);
			left -= n + 1;
		}
	}
	return o.full ? -1 : (long)o.n;
}

/* ---- structure-aware mutation (the fuzz targets' custom mutators) ---- */

/*
 * The mix, in percent: the fuzzer's byte mutations (they still find what
 * the format allows and prog_mutate() does not make: odd set-ups, dead
 * ops, explicit schedules), a new random program as explore draws one,
 * one to four prog_mutate() steps, and the rest a change of the PCT runs
 * only.
 */
#define MUT_BYTES 10
#define MUT_FRESH 40
#define MUT_PROG 30
#define MUT_OPS 8	/* ops per CPU, as explore's generator (--ops) */
/* 32 bits of seed in the header, no byte 0xff (a separator's start) */
#define SEED_MASK 0x7f7f7f7fULL

static struct repro mut_a, mut_b;
static u8 mut_buf[4096];

static int prog_ops(const struct program *p)
{
	int n = 0;

	for (int c = 0; c < p->ncpus; c++)
		n += p->nops[c];
	return n;
}

/* PCT runs as explore makes them for a program: a new seed, depth 3. */
static void pct_fresh(struct repro *r, struct rng *g)
{
	r->pct.on = true;
	r->pct.seed = rng_next(g) & SEED_MASK;
	r->pct.depth = 3;
	r->pct.schedules = 4;
	r->pct.est_steps = 512;
}

/* Another seed, now and then another depth, length guess or count. */
static void pct_change(struct repro *r, struct rng *g)
{
	if (!r->pct.on) {
		pct_fresh(r, g);
		return;
	}
	switch (rng_below(g, 8)) {
	case 0:
		r->pct.depth = 1 + rng_below(g, 4);
		break;
	case 1:
		r->pct.est_steps = est_of[rng_below(g, 8)];
		break;
	case 2:
		r->pct.schedules = 1 + rng_below(g, 4);
		break;
	default:
		break;
	}
	r->pct.seed = rng_next(g) & SEED_MASK;
}

/* Encode @r into @out if it fits; else 0. */
static size_t mut_encode(const struct repro *r, u8 *out, size_t max)
{
	long n = encode_input(r, mut_buf, sizeof(mut_buf));

	if (n <= 0 || (size_t)n > max)
		return 0;
	memcpy(out, mut_buf, n);
	return n;
}

size_t fuzz_mutate(u8 *data, size_t size, size_t max, u64 seed,
		   byte_mutator bytes)
{
	struct rng g = { seed };
	u32 what = rng_below(&g, 100);
	size_t n;

	if (bytes && what < MUT_BYTES)
		return bytes(data, size, max);
	decode_input(data, size, &mut_a);
	if (what < MUT_BYTES + MUT_FRESH || !prog_ops(&mut_a.prog)) {
		/*
		 * Two CPUs, as explore's default: a third or fourth drawn
		 * here one time in four made anon-exclusive take 3.5 times
		 * the executions (docs/benchmarks.md).  Byte mutations of
		 * the header still make them.
		 */
		prog_generate(&mut_a.prog, &g, 2, MUT_OPS);
		pct_fresh(&mut_a, &g);
	} else if (what < MUT_BYTES + MUT_FRESH + MUT_PROG) {
		int k = 1;

		while (k < 4 && !rng_below(&g, 2))
			k++;
		while (k--)
			prog_mutate(&mut_a.prog, &g, MUT_OPS);
		if (!mut_a.pct.on || rng_below(&g, 2))
			pct_change(&mut_a, &g);
	} else {
		pct_change(&mut_a, &g);
	}
	n = mut_encode(&mut_a, data, max);
	if (!n && bytes)
		return bytes(data, size, max);
	return n ? n : size;
}

/*
 * Cross-over: the first input's set-up and CPU count, each CPU's ops from
 * either input or the first's head and the second's tail, either's runs.
 */
size_t fuzz_crossover(const u8 *a, size_t na, const u8 *b, size_t nb,
		      u8 *out, size_t max, u64 seed)
{
	struct program *p = &mut_a.prog, *q = &mut_b.prog;
	struct rng g = { seed };

	decode_input(a, na, &mut_a);
	decode_input(b, nb, &mut_b);
	for (int c = 0; c < p->ncpus; c++) {
		int i, j;

		switch (rng_below(&g, 3)) {
		case 0:
			break;
		case 1:
			if (c < q->ncpus) {
				p->nops[c] = q->nops[c];
				memcpy(p->ops[c], q->ops[c], sizeof(p->ops[c]));
			}
			break;
		case 2:
			if (c >= q->ncpus)
				break;
			i = rng_below(&g, p->nops[c] + 1);
			j = rng_below(&g, q->nops[c] + 1);
			for (; j < q->nops[c] && i < MAX_OPS; i++, j++)
				p->ops[c][i] = q->ops[c][j];
			p->nops[c] = i;
			break;
		}
	}
	if (rng_below(&g, 2))
		mut_a.pct = mut_b.pct;
	if (!mut_a.pct.on)
		pct_fresh(&mut_a, &g);
	return mut_encode(&mut_a, out, max);
}
