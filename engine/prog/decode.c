/*
 * Fuzzer input -> program and schedule.  The first bytes choose the set-up
 * and each CPU's ops.  Then one byte chooses how the schedule is given:
 * either a list of segments ("run CPU c for n events / n releases"), so
 * the fuzzer steers the interleaving directly, or the parameters of one
 * PCT run (seed, depth, expected length), so it gets PCT's guarantees
 * while it steers the program.  `migrace decode` runs a PCT input and
 * writes the schedule it executed.
 */
#include <migrace/mm.h>
#include <migrace/prog.h>
#include <migrace/run.h>

struct cursor {
	const u8 *p;
	size_t n;
};

static u8 next(struct cursor *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

#define FUZZ_MAX_OPS 6

void decode_input(const u8 *data, size_t size, struct repro *r)
{
	struct cursor c = { data, size };
	struct program *p = &r->prog;
	u8 b = next(&c);
	int hot;

	memset(r, 0, sizeof(*r));
	/* three CPUs in a quarter of the inputs: two are enough for most races */
	p->ncpus = 2 + ((b & 0x31) == 0x31);
	p->populate = !(b & 2);
	p->forked = (b >> 2) & 1;
	p->warm = (b >> 3) & 1;
	p->swapped = p->populate && (b & 0x30) == 0x10;
	hot = (b >> 6) % REGION_PAGES;	/* single-page ops mostly hit it */
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		p->nops[cpu] = 1 + next(&c) % FUZZ_MAX_OPS;
		for (int i = 0; i < p->nops[cpu]; i++) {
			struct op *op = &p->ops[cpu][i];
			u8 b0 = next(&c), b1 = next(&c), b2 = next(&c);

			op->kind = b0 % NR_OP_KINDS;
			op->page = (b0 & 0x40) ? (b0 >> 3) % REGION_PAGES : hot;
			op->npages = 1 + b1 % (REGION_PAGES - op->page);
			op->slot = ((b1 >> 2) & 3) < p->ncpus ? (b1 >> 2) & 3 :
								NR_CPUS;
			op->proc = (b1 & 0x80) ? (b1 >> 4) & 3 : 0;
			/* a load of the device's slot, from a byte loads leave */
			if ((op_sigs[op->kind].args & OPA_SLOT) &&
			    op->slot == NR_CPUS && (b2 & 0x40))
				op->slot = DEV_SLOT;
			op->advice = op_advices[b2 % NR_ADVICES];
			/* the driver's choices, one bit per page of the op */
			op->decline = (b2 & 0x10) ? (b2 >> 2) & 3 : 0;
			op->failcopy = (b2 & 0x20) ? (b2 >> 6) & 3 : 0;
			op->decline &= (1u << op->npages) - 1;
			op->failcopy &= (1u << op->npages) - 1;
			if (!(op_sigs[op->kind].args & OPA_MASKS))
				op->decline = op->failcopy = 0;
			if (op_sigs[op->kind].args & OPA_PINFLAGS)
				op->flags = (b2 >> 2) & PIN_ALL;
			/* migrate ops: device memory kind, bits a migrate op leaves */
			if (op_sigs[op->kind].args & OPA_MEM)
				op->mem = !(b1 & 0x40) ? MEM_PRIVATE :
					  (b1 & 0x08) ? MEM_ALL : MEM_COHERENT;
			/* mprotect: read-only, or back to read-write */
			if (op_sigs[op->kind].args & OPA_PROT)
				op->prot = PROT_READ |
					   ((b2 & 0x04) ? PROT_WRITE : 0);
			/* unbind: the spare destinations, from the same byte */
			if (op_sigs[op->kind].args & OPA_SPARE)
				op->spare = (b2 & 0x10) ? b2 : 0;
			/* as the parser gives an op without a page */
			if (!(op_sigs[op->kind].args & OPA_PAGE)) {
				op->page = 0;
				op->npages = 1;
				op->decline = op->failcopy = 0;
			}
			/* move_pages, compact: the node; MPOL_MF_MOVE_ALL */
			if (op_sigs[op->kind].args & OPA_NODE)
				op->node = (b2 >> 3) % NR_NODES;
			if (op_sigs[op->kind].args & OPA_MOVEALL)
				op->flags = (b2 >> 4) & MOVE_ALL;
			/* migrate_to_device: fault and migrate */
			if (op_sigs[op->kind].args & OPA_FAULT)
				op->flags = (b1 >> 6) & MIGRATE_FAULT;
		}
	}
	b = next(&c);
	if (b & 1) {
		r->pct.on = true;
		r->pct.depth = 2 + (b >> 1) % 3;
		r->pct.est_steps = 64 * (1 + (u64)(b >> 3));
		for (int i = 0; i < 4; i++)
			r->pct.seed = r->pct.seed << 8 | next(&c);
		return;
	}
	while (c.n >= 2 && r->sched.nseg < MAX_SEGS) {
		u8 b0 = next(&c), b1 = next(&c);
		struct segment *sg = &r->sched.seg[r->sched.nseg++];

		sg->cpu = b0 % p->ncpus;
		if (b0 & 0x80) {
			/* most races need a preemption right after a release */
			sg->kind = SEG_RELEASES;
			sg->count = 1 + b1 % 64;
		} else {
			sg->kind = SEG_STEPS;
			sg->count = 1 + b1 + ((b0 >> 2) & 3) * 256;
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
