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
 *   h2  bit 0 clear: one PCT run (the schedule stream is not read), depth
 *       2 + (1 + (h2 >> 1)) % 3 (3 when h2 is 0: two change points),
 *       expected length 64 * (2 + (h2 >> 3)) events; bit 0 set: the
 *       schedule stream.  So a short input gets PCT's guarantees.
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
		r->pct.depth = 2 + (1 + (h[2] >> 1)) % 3;
		r->pct.est_steps = 64 * (2 + (u64)(h[2] >> 3));
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

static void encode_op(struct out *o, const struct op *op)
{
	u8 a[OP_ARGS] = { 0 };
	u16 args = op->kind < NR_OP_KINDS ? op_sigs[op->kind].args : 0;

	a[0] = (op->page & 3) | ((op->npages - 1) & 3) << 2 |
	       (op->proc & 3) << 4;
	if ((args & OPA_SLOT) && op->slot < NR_CPUS)
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
	put(&o, 1);	/* the schedule stream, not PCT */
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		put_sep(&o, cpu);
		for (int i = 0; i < p->nops[cpu]; i++)
			encode_op(&o, &p->ops[cpu][i]);
	}
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
