/*
 * The op alphabet and the random program generator.  The generator knows
 * the alphabet, never a scenario: which ops and settings appear is drawn
 * per program ("swarm testing": each program enables a random subset of
 * the op kinds, so rare combinations are not drowned by common ones).
 * prog_mutate() changes a program a little, for the searches that keep
 * programs which reached new behaviour (explore's feedback, the fuzzers'
 * custom mutators).
 */
#include <stdio.h>
#include <string.h>

#include <migrace/mm.h>
#include <migrace/prog.h>
#include <migrace/run.h>

static const char *const op_names[NR_OP_KINDS] = {
	[OP_READ] = "read",
	[OP_WRITE] = "write",
	[OP_MMAP] = "mmap",
	[OP_MUNMAP] = "munmap",
	[OP_MADVISE] = "madvise",
	[OP_FORK] = "fork",
	[OP_MIGRATE_TO_DEVICE] = "migrate_to_device",
	[OP_MIGRATE_TO_SYSTEM] = "migrate_to_system",
	[OP_RECLAIM] = "reclaim",
	[OP_PIN] = "pin",
	[OP_PIN_READ] = "pin_read",
	[OP_PIN_WRITE] = "pin_write",
	[OP_UNPIN] = "unpin",
	[OP_UNBIND] = "unbind",
	[OP_MOVE_PAGES] = "move_pages",
	[OP_COMPACT] = "compact",
	[OP_MPROTECT] = "mprotect",
	[OP_EXIT] = "exit",
	[OP_DEVICE_EXCLUSIVE] = "device_exclusive",
	[OP_DEVICE_READ] = "device_read",
	[OP_DEVICE_WRITE] = "device_write",
};

/* Kept next to op_format(): the parser accepts what this says it prints. */
const struct op_sig op_sigs[NR_OP_KINDS] = {
	[OP_READ] = { OPA_PAGE | OPA_SLOT },
	[OP_WRITE] = { OPA_PAGE },
	[OP_MMAP] = { OPA_PAGE | OPA_NPAGES },
	[OP_MUNMAP] = { OPA_PAGE | OPA_NPAGES },
	[OP_MADVISE] = { OPA_PAGE | OPA_NPAGES | OPA_ADVICE },
	[OP_FORK] = { 0 },
	[OP_MIGRATE_TO_DEVICE] = { OPA_PAGE | OPA_NPAGES | OPA_MEM | OPA_MASKS |
				   OPA_FAULT },
	[OP_MIGRATE_TO_SYSTEM] = { OPA_PAGE | OPA_NPAGES | OPA_MEM | OPA_MASKS },
	[OP_RECLAIM] = { 0 },
	[OP_PIN] = { OPA_PAGE | OPA_PINFLAGS },
	[OP_PIN_READ] = { OPA_PAGE | OPA_SLOT },
	[OP_PIN_WRITE] = { OPA_PAGE },
	[OP_UNPIN] = { OPA_PAGE },
	[OP_UNBIND] = { OPA_SPARE },
	[OP_MOVE_PAGES] = { OPA_PAGE | OPA_NPAGES | OPA_NODE | OPA_MOVEALL },
	[OP_COMPACT] = { OPA_NODE },
	[OP_MPROTECT] = { OPA_PAGE | OPA_NPAGES | OPA_PROT },
	[OP_EXIT] = { 0 },
	[OP_DEVICE_EXCLUSIVE] = { OPA_PAGE | OPA_NPAGES },
	[OP_DEVICE_READ] = { OPA_PAGE | OPA_SLOT },
	[OP_DEVICE_WRITE] = { OPA_PAGE },
};

const char *prot_name(int prot)
{
	switch (prot) {
	case PROT_READ:
		return "PROT_READ";
	case PROT_READ | PROT_WRITE:
		return "PROT_READ|PROT_WRITE";
	}
	return NULL;
}

const char *pin_flag_name(int bit)
{
	switch (bit) {
	case PIN_WRITE:
		return "write";
	case PIN_LONGTERM:
		return "longterm";
	case PIN_FAST:
		return "fast";
	}
	return NULL;
}

const char *mem_kind_name(int bit)
{
	switch (bit) {
	case MEM_PRIVATE:
		return "private";
	case MEM_COHERENT:
		return "coherent";
	}
	return NULL;
}

int op_kind_by_name(const char *name, size_t len)
{
	for (int k = 0; k < NR_OP_KINDS; k++)
		if (strlen(op_names[k]) == len && !strncmp(name, op_names[k], len))
			return k;
	return -1;
}

const int op_advices[NR_ADVICES] = {
	MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
};

const char *advice_name(int advice)
{
	switch (advice) {
	case MADV_DONTNEED:
		return "MADV_DONTNEED";
	case MADV_FREE:
		return "MADV_FREE";
	case MADV_COLD:
		return "MADV_COLD";
	case MADV_PAGEOUT:
		return "MADV_PAGEOUT";
	}
	return NULL;
}

const char *op_name(int kind)
{
	return kind >= 0 && kind < NR_OP_KINDS ? op_names[kind] : "?";
}

unsigned long op_addr(const struct op *op)
{
	return REGION_START + (unsigned long)op->page * PAGE_SIZE;
}

void op_format(const struct op *op, char *buf, size_t len)
{
	int n;

	switch (op->kind) {
	case OP_READ:
	case OP_DEVICE_READ:
	case OP_PIN_READ:
		if (op->slot < NR_CPUS)
			n = snprintf(buf, len, "%s(p%d, slot %d)",
				     op_name(op->kind), op->page, op->slot);
		else if (op->slot == DEV_SLOT)
			n = snprintf(buf, len, "%s(p%d, slot dev)",
				     op_name(op->kind), op->page);
		else
			n = snprintf(buf, len, "%s(p%d)", op_name(op->kind),
				     op->page);
		break;
	case OP_WRITE:
	case OP_DEVICE_WRITE:
	case OP_PIN_WRITE:
	case OP_UNPIN:
		n = snprintf(buf, len, "%s(p%d)", op_name(op->kind), op->page);
		break;
	case OP_PIN:
		n = snprintf(buf, len, "pin(p%d", op->page);
		for (int b = 1; b <= PIN_ALL && n > 0 && (size_t)n < len;
		     b <<= 1)
			if (op->flags & b)
				n += snprintf(buf + n, len - n, ", %s",
					      pin_flag_name(b));
		if (n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, ")");
		break;
	case OP_MADVISE:
		n = snprintf(buf, len, "madvise(p%d, %d, %s)", op->page,
			     op->npages, advice_name(op->advice) ?: "?");
		break;
	case OP_MPROTECT:
		n = snprintf(buf, len, "mprotect(p%d, %d, %s)", op->page,
			     op->npages, prot_name(op->prot) ?: "?");
		break;
	case OP_FORK:
	case OP_RECLAIM:
	case OP_EXIT:
		n = snprintf(buf, len, "%s()", op_name(op->kind));
		break;
	case OP_MOVE_PAGES:
		n = snprintf(buf, len, "move_pages(p%d, %d, node %d%s)",
			     op->page, op->npages, op->node,
			     (op->flags & MOVE_ALL) ? ", all" : "");
		break;
	case OP_COMPACT:
		n = snprintf(buf, len, "compact(node %d)", op->node);
		break;
	case OP_UNBIND:
		if (op->spare)
			n = snprintf(buf, len, "unbind(spare %#x)", op->spare);
		else
			n = snprintf(buf, len, "unbind()");
		break;
	default:
		n = snprintf(buf, len, "%s(p%d, %d", op_name(op->kind),
			     op->page, op->npages);
		/* Device-private only is the default and not printed. */
		if (op->kind < NR_OP_KINDS &&
		    (op_sigs[op->kind].args & OPA_MEM) &&
		    op_mem(op) != MEM_PRIVATE)
			for (int b = 1; b <= MEM_ALL && n > 0 &&
					(size_t)n < len; b <<= 1)
				if (op->mem & b)
					n += snprintf(buf + n, len - n, ", %s",
						      mem_kind_name(b));
		if (op->kind < NR_OP_KINDS &&
		    (op_sigs[op->kind].args & OPA_FAULT) &&
		    (op->flags & MIGRATE_FAULT) && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, ", fault");
		/* The driver's choices, for the ops that take them. */
		if (op->kind < NR_OP_KINDS &&
		    (op_sigs[op->kind].args & OPA_MASKS)) {
			if (n > 0 && (size_t)n < len && op->decline)
				n += snprintf(buf + n, len - n,
					      ", decline %#x", op->decline);
			if (n > 0 && (size_t)n < len && op->failcopy)
				n += snprintf(buf + n, len - n,
					      ", failcopy %#x", op->failcopy);
		}
		if (n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, ")");
	}
	if (op->proc && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " @%d", op->proc);
}

/*
 * Swarm testing: each op kind is in a program with probability
 * 1/SWARM_ODDS.  With a wide alphabet, small subsets keep programs focused
 * enough for the ops of one race to meet.
 */
/* A populated region starts swapped out in 1 of SWAPPED_ODDS programs. */
#ifndef SWAPPED_ODDS
#define SWAPPED_ODDS 4
#endif

/* A migrate op uses coherent memory in 1 of MEM_COHERENT_ODDS. */
#ifndef MEM_COHERENT_ODDS
#define MEM_COHERENT_ODDS 2
#endif

#ifndef SWARM_ODDS
#define SWARM_ODDS 3
#endif

#ifndef FORK_WEIGHT
#define FORK_WEIGHT 1
#endif

static const int weights[NR_OP_KINDS] = {
	[OP_READ] = 4,	 [OP_WRITE] = 3,  [OP_MMAP] = 1,
	[OP_MUNMAP] = 1, [OP_MADVISE] = 2, [OP_FORK] = FORK_WEIGHT,
	[OP_MIGRATE_TO_DEVICE] = 3, [OP_MIGRATE_TO_SYSTEM] = 2,
	[OP_RECLAIM] = 2,
	[OP_PIN] = 2, [OP_PIN_READ] = 2, [OP_PIN_WRITE] = 2, [OP_UNPIN] = 1,
	[OP_UNBIND] = 1,
	[OP_MOVE_PAGES] = 2, [OP_COMPACT] = 1,
	[OP_MPROTECT] = 1, [OP_EXIT] = 1,
	[OP_DEVICE_EXCLUSIVE] = 1, [OP_DEVICE_READ] = 1,
	[OP_DEVICE_WRITE] = 1,
};

/* What the ops of one CPU's list share while it is drawn. */
struct gen_ctx {
	const int *enabled;
	int total;
	int hot;		/* most single-page ops go here */
	int procs;		/* processes an op may address */
	const struct op *pins[MAX_OPS];
	int npins;
	bool have_exit;		/* one exit per program */
};

static int draw_kind(struct rng *r, const struct gen_ctx *g)
{
	int w = rng_below(r, g->total), k;

	for (k = 0; w >= g->enabled[k]; k++)
		w -= g->enabled[k];
	return k;
}

static void gen_op(struct op *op, int k, struct rng *r, int ncpus,
		   struct gen_ctx *g)
{
	memset(op, 0, sizeof(*op));
	op->kind = k;
	if (rng_below(r, 2)) {
		op->page = 0;
		op->npages = REGION_PAGES;
	} else {
		op->page = rng_below(r, 3) ? (u8)g->hot :
					     (u8)rng_below(r, REGION_PAGES);
		op->npages = 1 + rng_below(r, REGION_PAGES - op->page);
	}
	op->slot = rng_below(r, 2) ? NR_CPUS : rng_below(r, ncpus);
	/* A load of the device's slot, where the device stores. */
	if (g->enabled[OP_DEVICE_WRITE] && !rng_below(r, 4))
		op->slot = DEV_SLOT;
	op->proc = rng_below(r, 3) ? 0 : rng_below(r, g->procs);
	op->advice = op_advices[rng_below(r, NR_ADVICES)];
	/* A driver mostly migrates what it is offered. */
	if (!rng_below(r, 4))
		op->decline = rng_below(r, 1u << op->npages);
	if (!rng_below(r, 4))
		op->failcopy = rng_below(r, 1u << op->npages);
	/* Only the ops that take them keep the choices. */
	if (!(op_sigs[k].args & OPA_MASKS))
		op->decline = op->failcopy = 0;
	if (op_sigs[k].args & OPA_PINFLAGS)
		op->flags = rng_below(r, PIN_ALL + 1);
	if (op_sigs[k].args & OPA_NODE)
		op->node = rng_below(r, NR_NODES);
	if (op_sigs[k].args & OPA_MOVEALL)
		op->flags = rng_below(r, 2) ? MOVE_ALL : 0;
	if (op_sigs[k].args & OPA_PROT)
		op->prot = PROT_READ | (rng_below(r, 2) ? PROT_WRITE : 0);
	if (op_sigs[k].args & OPA_FAULT)
		op->flags = rng_below(r, 3) ? 0 : MIGRATE_FAULT;
	/*
	 * An op that uses a resource mostly uses one an earlier op of this
	 * CPU made (as syzkaller does): a pin's accesses and unpin target a
	 * page pinned.
	 */
	if (k == OP_PIN) {
		if (g->npins < MAX_OPS)
			g->pins[g->npins++] = op;
	} else if ((k == OP_PIN_READ || k == OP_PIN_WRITE ||
		    k == OP_UNPIN) && g->npins && rng_below(r, 4)) {
		const struct op *pin = g->pins[rng_below(r, g->npins)];

		op->page = pin->page;
		op->proc = pin->proc;
	}
	if ((op_sigs[k].args & OPA_SPARE) && rng_below(r, 2))
		op->spare = rng_below(r, SPARE_MAX + 1);
	/* Device memory kind: private, coherent or both. */
	if (op_sigs[k].args & OPA_MEM)
		op->mem = rng_below(r, MEM_COHERENT_ODDS) ?
			  MEM_PRIVATE : 1 + rng_below(r, MEM_ALL);
	/*
	 * An op without a page prints none: keep the page its repro file
	 * will parse back (p0), which the op's events carry, so a replay
	 * hashes the same.
	 */
	if (!(op_sigs[k].args & OPA_PAGE)) {
		op->page = 0;
		op->npages = 1;
	}
	/* Mostly a child exits, while its parent goes on. */
	if (k == OP_EXIT) {
		g->have_exit = true;
		if (g->procs > 1 && rng_below(r, 4))
			op->proc = 1 + rng_below(r, g->procs - 1);
	}
	if (k == OP_FORK && g->procs < MAX_PROCS)
		g->procs++;
}

/*
 * A program that stores ends by loading what it stored, as a test would:
 * the check of a store that an op after it (a migration, a fork) may have
 * lost.  Each CPU whose program has a store and room for one more op
 * (fewer than --ops) gets a load of its slot of its last store's page
 * appended, in 1 of CHECK_ODDS programs (a build knob; 1: always).  The
 * ops drawn before stay as they are.
 */
#ifndef CHECK_ODDS
#define CHECK_ODDS 1
#endif

static void check_last_store(struct program *p, int c, int nops,
			     struct rng *r)
{
	/* No draw at odds 1: the programs are those drawn without the check. */
	if ((CHECK_ODDS > 1 && rng_below(r, CHECK_ODDS)) || p->nops[c] >= nops)
		return;
	for (int i = p->nops[c] - 1; i >= 0; i--) {
		const struct op *w = &p->ops[c][i];

		if (w->kind != OP_WRITE)
			continue;
		p->ops[c][p->nops[c]++] = (struct op){
			.kind = OP_READ, .page = w->page, .npages = 1,
			.slot = NR_CPUS, .proc = w->proc };
		return;
	}
}

/*
 * A test looks at what an op changed: an op that changes the mapping of
 * its pages (madvise, munmap, mprotect, a migration) is followed, in 1 of
 * OBSERVE_ODDS, by a load of its first page on the same CPU, in place of
 * the next op drawn (0 turns it off).  Measured over every fix
 * (docs/benchmarks.md): 1 in 2 makes the races that end in a stale load
 * after the op (flush-tlb-under-ptl, flush-cache-page) several times
 * likelier, for a slower find of the ones whose ops must follow each
 * other undisturbed; inserting the load instead of replacing an op, or 1
 * in 4, did worse overall.
 */
#ifndef OBSERVE_ODDS
#define OBSERVE_ODDS 2
#endif

static bool observe(struct program *p, int c, int i, struct rng *r)
{
	const struct op *op = &p->ops[c][i];

	switch (op->kind) {
	case OP_MADVISE:
	case OP_MUNMAP:
	case OP_MPROTECT:
	case OP_MIGRATE_TO_DEVICE:
	case OP_MIGRATE_TO_SYSTEM:
	case OP_MOVE_PAGES:
		break;
	default:
		return false;
	}
	if (!OBSERVE_ODDS || i + 1 >= p->nops[c] ||
	    rng_below(r, OBSERVE_ODDS ? OBSERVE_ODDS : 1))
		return false;
	p->ops[c][i + 1] = (struct op){ .kind = OP_READ, .page = op->page,
					.npages = 1, .slot = NR_CPUS,
					.proc = op->proc };
	return true;
}

void prog_generate(struct program *p, struct rng *r, int ncpus, int nops)
{
	int enabled[NR_OP_KINDS], total = 0;
	struct gen_ctx g;

	memset(p, 0, sizeof(*p));
	p->ncpus = ncpus;
	p->populate = rng_below(r, 4) != 0;
	p->forked = rng_below(r, 2);
	p->warm = rng_below(r, 2);
	p->swapped = p->populate && !rng_below(r, SWAPPED_ODDS);
	memset(&g, 0, sizeof(g));
	g.procs = 1 + p->forked;
	/* Ops collide more when most single-page ops share one page. */
	g.hot = rng_below(r, REGION_PAGES);
	do {
		total = 0;
		for (int k = 0; k < NR_OP_KINDS; k++)
			enabled[k] = rng_below(r, SWARM_ODDS) ? 0 : weights[k];
		/* Ops that use a pin are useful only where pins are made. */
		if (!enabled[OP_PIN])
			enabled[OP_PIN_READ] = enabled[OP_PIN_WRITE] =
				enabled[OP_UNPIN] = 0;
		for (int k = 0; k < NR_OP_KINDS; k++)
			total += enabled[k];
	} while (total == 0);
	g.enabled = enabled;
	g.total = total;

	for (int c = 0; c < ncpus; c++) {
		g.npins = 0;
		p->nops[c] = 1 + rng_below(r, nops);
		for (int i = 0; i < p->nops[c]; i++) {
			int k;

			/*
			 * One exit per program: after it, every op of that
			 * process is dead, and under PCT a CPU often runs its
			 * whole list before the others start.
			 */
			do {
				k = draw_kind(r, &g);
			} while (k == OP_EXIT && g.have_exit &&
				 total > enabled[OP_EXIT]);
			gen_op(&p->ops[c][i], k, r, ncpus, &g);
			if (observe(p, c, i, r))
				i++;
		}
		check_last_store(p, c, nops, r);
		/*
		 * Nothing a CPU does in a process after that process exits
		 * runs: an exit goes last on its CPU, so its ops stay live
		 * (it still races the other CPUs).
		 */
		for (int i = 0; i < p->nops[c] - 1; i++) {
			struct op t = p->ops[c][i];

			if (t.kind != OP_EXIT)
				continue;
			p->ops[c][i] = p->ops[c][p->nops[c] - 1];
			p->ops[c][p->nops[c] - 1] = t;
			break;
		}
	}
}

/*
 * Program mutation.  Each call makes one small change that keeps the
 * program well-formed (the parser would accept its repro file): insert,
 * delete, swap, move or copy an op, retarget one (page, range, process,
 * slot), redraw one's options, or flip a set-up option.  New ops are drawn
 * by gen_op() mostly among the kinds the program already has (its swarm
 * subset), sometimes among all.
 */
enum {
	MUT_INSERT, MUT_DELETE, MUT_SWAP, MUT_MOVE, MUT_COPY, MUT_RETARGET,
	MUT_REDRAW, MUT_REPLACE, MUT_SETUP, NR_MUTATIONS
};

static int prog_procs(const struct program *p)
{
	int procs = 1 + p->forked;

	for (int c = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++)
			procs += p->ops[c][i].kind == OP_FORK;
	return procs < MAX_PROCS ? procs : MAX_PROCS;
}

static void mut_ctx(const struct program *p, struct rng *r, int *enabled,
		    struct gen_ctx *g)
{
	bool any = false;

	memset(g, 0, sizeof(*g));
	memset(enabled, 0, NR_OP_KINDS * sizeof(*enabled));
	if (rng_below(r, 4))
		for (int c = 0; c < p->ncpus; c++)
			for (int i = 0; i < p->nops[c]; i++) {
				int k = p->ops[c][i].kind;

				enabled[k] = weights[k];
				any = true;
			}
	if (!any)
		for (int k = 0; k < NR_OP_KINDS; k++)
			enabled[k] = weights[k];
	for (int k = 0; k < NR_OP_KINDS; k++)
		g->total += enabled[k];
	g->enabled = enabled;
	g->procs = prog_procs(p);
	g->hot = rng_below(r, REGION_PAGES);
	/* A page an op of the program uses, so new ops meet old ones. */
	for (int c = 0, n = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++)
			if ((op_sigs[p->ops[c][i].kind].args & OPA_PAGE) &&
			    !rng_below(r, ++n))
				g->hot = p->ops[c][i].page;
	for (int c = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++) {
			const struct op *op = &p->ops[c][i];

			g->have_exit |= op->kind == OP_EXIT;
			if (op->kind == OP_PIN && g->npins < MAX_OPS)
				g->pins[g->npins++] = op;
		}
}

/* An op drawn as the generator draws one, in the context of @p. */
static void mut_draw(const struct program *p, struct rng *r, struct op *op)
{
	int enabled[NR_OP_KINDS], k;
	struct gen_ctx g;

	mut_ctx(p, r, enabled, &g);
	do {
		k = draw_kind(r, &g);
	} while (k == OP_EXIT && g.have_exit && g.total > enabled[OP_EXIT]);
	gen_op(op, k, r, p->ncpus, &g);
}

void prog_del_op(struct program *p, int c, int i)
{
	memmove(&p->ops[c][i], &p->ops[c][i + 1],
		(p->nops[c] - i - 1) * sizeof(struct op));
	p->nops[c]--;
}

static bool ins_op(struct program *p, int c, int i, const struct op *op,
		   int nops)
{
	if (p->nops[c] >= nops || p->nops[c] >= MAX_OPS)
		return false;
	memmove(&p->ops[c][i + 1], &p->ops[c][i],
		(p->nops[c] - i) * sizeof(struct op));
	p->ops[c][i] = *op;
	p->nops[c]++;
	return true;
}

/* A CPU with at least one op, or -1. */
static int busy_cpu(const struct program *p, struct rng *r)
{
	int c = rng_below(r, p->ncpus);

	for (int k = 0; k < p->ncpus; k++, c = (c + 1) % p->ncpus)
		if (p->nops[c])
			return c;
	return -1;
}

static void retarget(struct op *op, struct rng *r, int procs, int ncpus)
{
	u32 what = rng_below(r, 4);

	if (what == 0 && (op_sigs[op->kind].args & OPA_PAGE)) {
		op->page = rng_below(r, REGION_PAGES);
		if (op->page + op->npages > REGION_PAGES)
			op->npages = REGION_PAGES - op->page;
	} else if (what == 1 && (op_sigs[op->kind].args & OPA_NPAGES)) {
		op->npages = 1 + rng_below(r, REGION_PAGES - op->page);
	} else if (what == 2 && (op_sigs[op->kind].args & OPA_SLOT)) {
		op->slot = rng_below(r, 2) ? NR_CPUS : rng_below(r, ncpus);
	} else {
		op->proc = rng_below(r, procs);
	}
	/* Masks are per page of the range. */
	op->decline &= (1u << op->npages) - 1;
	op->failcopy &= (1u << op->npages) - 1;
}

/*
 * The same op with its options drawn again: gen_op() on the same kind,
 * keeping where it acts.
 */
static void redraw(const struct program *p, struct op *op, struct rng *r)
{
	int enabled[NR_OP_KINDS];
	struct gen_ctx g;
	struct op n;

	mut_ctx(p, r, enabled, &g);
	gen_op(&n, op->kind, r, p->ncpus, &g);
	n.page = op->page;
	n.npages = op->npages;
	n.proc = op->proc;
	n.decline &= (1u << n.npages) - 1;
	n.failcopy &= (1u << n.npages) - 1;
	*op = n;
}

/* An exit goes last on its CPU, and a program has at most one. */
static void prog_fixup(struct program *p)
{
	int ec = -1;
	struct op t;

	for (int c = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++) {
			if (p->ops[c][i].kind != OP_EXIT)
				continue;
			if (ec >= 0) {
				prog_del_op(p, c, i--);
				continue;
			}
			ec = c;
			t = p->ops[c][i];
			prog_del_op(p, c, i--);
		}
	if (ec >= 0)
		p->ops[ec][p->nops[ec]++] = t;
	p->swapped &= p->populate;
}

void prog_mutate(struct program *p, struct rng *r, int nops)
{
	int c = busy_cpu(p, r), d, i, j, m;
	struct op op;

	if (nops > MAX_OPS)
		nops = MAX_OPS;
	m = c < 0 ? MUT_INSERT : (int)rng_below(r, NR_MUTATIONS);
	switch (m) {
	case MUT_INSERT:
		c = rng_below(r, p->ncpus);
		mut_draw(p, r, &op);
		ins_op(p, c, rng_below(r, p->nops[c] + 1), &op, nops);
		break;
	case MUT_DELETE:
		prog_del_op(p, c, rng_below(r, p->nops[c]));
		break;
	case MUT_SWAP:
		i = rng_below(r, p->nops[c]);
		j = rng_below(r, p->nops[c]);
		op = p->ops[c][i];
		p->ops[c][i] = p->ops[c][j];
		p->ops[c][j] = op;
		break;
	case MUT_MOVE:
	case MUT_COPY: {
		bool move = m == MUT_MOVE;

		i = rng_below(r, p->nops[c]);
		op = p->ops[c][i];
		if (move)
			prog_del_op(p, c, i);
		d = rng_below(r, p->ncpus);
		if (!ins_op(p, d, rng_below(r, p->nops[d] + 1), &op, nops) &&
		    move)
			ins_op(p, c, i, &op, nops);	/* no room: put it back */
		break;
	}
	case MUT_RETARGET:
		retarget(&p->ops[c][rng_below(r, p->nops[c])], r,
			 prog_procs(p), p->ncpus);
		break;
	case MUT_REDRAW:
		redraw(p, &p->ops[c][rng_below(r, p->nops[c])], r);
		break;
	case MUT_REPLACE:
		i = rng_below(r, p->nops[c]);
		mut_draw(p, r, &op);
		p->ops[c][i] = op;
		break;
	case MUT_SETUP:
		switch (rng_below(r, 4)) {
		case 0:
			p->populate = !p->populate;
			break;
		case 1:
			p->forked = !p->forked;
			break;
		case 2:
			p->warm = !p->warm;
			break;
		case 3:
			p->swapped = !p->swapped;
			p->populate |= p->swapped;
			break;
		}
		break;
	}
	prog_fixup(p);
}
