/*
 * The workload (engine/prog): the op alphabet, programs (one op list per
 * CPU), schedules and repro files.
 */
#ifndef MIGRACE_PROG_H
#define MIGRACE_PROG_H

#include <stdio.h>
#include <migrace/kernel.h>
#include <migrace/cpu.h>
#include <migrace/pgtable.h>

/* Ops address a small region so that they collide: p0..p3, two PTE tables. */
#define REGION_PAGES 4
#define REGION_START (TASK_UNMAPPED_BASE + 6 * PAGE_SIZE)
#define MAX_PROCS 4
#define MAX_OPS 16

enum op_kind {
	OP_READ,
	OP_WRITE,
	OP_MMAP,
	OP_MUNMAP,
	OP_MADVISE,
	OP_FORK,
	OP_MIGRATE_TO_DEVICE,
	OP_MIGRATE_TO_SYSTEM,
	OP_RECLAIM,
	OP_PIN,
	OP_PIN_READ,
	OP_PIN_WRITE,
	OP_UNPIN,
	OP_UNBIND,
	OP_MOVE_PAGES,
	OP_COMPACT,
	OP_MPROTECT,
	OP_EXIT,
	OP_DEVICE_EXCLUSIVE,
	OP_DEVICE_READ,
	OP_DEVICE_WRITE,
	NR_OP_KINDS
};

/* madvise(): the advice is the kernel's MADV_* number. */
#define NR_ADVICES 4
extern const int op_advices[NR_ADVICES];
const char *advice_name(int advice);

struct op {
	u8 kind;
	u8 page;	/* first page of the region */
	u8 npages;
	u8 slot;	/* read: which CPU's slot (DEV_SLOT: the device's) */
	u8 proc;	/* process: 0 the first, then fork children */
	u8 advice;	/* madvise: MADV_* */
	/*
	 * The driver's legal choices (migrate ops), bit i for page + i:
	 * entries it declines to migrate, and entries whose copy fails
	 * after it allocated the destination.
	 */
	u8 decline;
	u8 failcopy;
	u8 flags;	/* pin: PIN_*; move_pages: MOVE_ALL; migrate: MIGRATE_FAULT */
	u8 node;	/* move_pages: target node; compact: the node */
	/*
	 * unbind: bit i for entry i of each eviction chunk, the driver
	 * allocates a destination for an entry with no source page.
	 */
	u8 spare;
	/*
	 * migrate ops: the device memory the driver uses, MEM_* bits (0 is
	 * MEM_PRIVATE).  To the device: the kind of the destination
	 * (coherent first when both, private if coherent memory is full);
	 * to system: the kinds it selects (MIGRATE_VMA_SELECT_DEVICE_*).
	 */
	u8 mem;
	u8 prot;	/* mprotect: PROT_READ, or PROT_READ | PROT_WRITE */
};

#define MEM_PRIVATE	0x1
#define MEM_COHERENT	0x2
#define MEM_ALL		0x3
const char *mem_kind_name(int bit);
/* 0 means the default, device-private memory. */
static inline u8 op_mem(const struct op *op)
{
	return op->mem ? op->mem : MEM_PRIVATE;
}

/* pin(): how the page is pinned (FOLL_WRITE, FOLL_LONGTERM, GUP-fast) */
#define PIN_WRITE	0x1
#define PIN_LONGTERM	0x2
#define PIN_FAST	0x4
#define PIN_ALL		0x7
const char *pin_flag_name(int bit);
/* mprotect(): "PROT_READ", "PROT_READ|PROT_WRITE"; NULL for others */
const char *prot_name(int prot);

/* move_pages(): MPOL_MF_MOVE_ALL, move pages mapped more than once too */
#define MOVE_ALL	0x1
/*
 * migrate_to_device(): fault the pages in and migrate them (test_hmm's
 * migrate-on-fault): upstream, hmm_range_fault() then migrate_vma_*();
 * rfc-unified, one hmm_range_fault() walk with HMM_PFN_REQ_MIGRATE.
 */
#define MIGRATE_FAULT	0x1

/*
 * What each op kind takes, in the order op_format() prints it: the parser
 * accepts exactly this and checks the ranges, so a new op is one entry
 * in op_sigs[] (prog.c) plus its case in op_format().
 */
#define OPA_PAGE	0x01	/* pN: first page, 0..REGION_PAGES-1 */
#define OPA_NPAGES	0x02	/* K: pages, 1..REGION_PAGES-page */
#define OPA_ADVICE	0x04	/* MADV_*: one of op_advices[] */
#define OPA_SLOT	0x08	/* optional "slot S": S < the file's CPUs, or "dev" */
#define OPA_MASKS	0x10	/* optional "decline M", "failcopy M" */
#define OPA_PINFLAGS	0x20	/* optional "write", "longterm", "fast" */
#define OPA_SPARE	0x40	/* optional "spare M": M in 0..SPARE_MAX */
#define OPA_PROT	0x400	/* PROT_READ or PROT_READ|PROT_WRITE */
#define SPARE_MAX	0xff	/* one bit per entry of an eviction chunk */
#define OPA_MEM		0x80	/* optional "private", "coherent" (MEM_*) */
#define OPA_NODE	0x100	/* optional "node N": N < NR_NODES, default 0 */
#define OPA_MOVEALL	0x200	/* optional "all" (MPOL_MF_MOVE_ALL) */
#define OPA_FAULT	0x800	/* optional "fault" (MIGRATE_FAULT) */

struct op_sig {
	u16 args;
};
extern const struct op_sig op_sigs[NR_OP_KINDS];
int op_kind_by_name(const char *name, size_t len);

struct program {
	int ncpus;
	int nops[NR_CPUS];
	struct op ops[NR_CPUS][MAX_OPS];
	bool populate;	/* set-up writes every page of the region */
	bool forked;	/* set-up forks one child sharing the region */
	bool warm;	/* set-up: every CPU has loaded every page (TLBs warm) */
	bool swapped;	/* set-up: the region was paged out (before fork, warm) */
};

enum variant { VARIANT_UPSTREAM, VARIANT_RFC_UNIFIED };
enum arch { ARCH_X86, ARCH_VIVT };

struct settings {
	unsigned long reverted;
	int variant;
	int arch;
	bool strict;
};

/* ---- schedules ---- */
#define MAX_SEGS 512
#define SEG_NAME_LEN 48

enum seg_kind {
	SEG_STEPS,	/* run CPU for N events */
	SEG_UNTIL,	/* run CPU until its N-th event named WHAT [in FUNC] */
	SEG_END,	/* run CPU until its program ends (or it blocks) */
	SEG_RELEASES,	/* run CPU for N release events (unlocks, op returns) */
};

struct segment {
	u8 cpu;
	u8 kind;
	u32 count;	/* SEG_STEPS: events; SEG_UNTIL: occurrence */
	/* where a hand-written segment came from (0: machine-made) */
	u32 line;
	u16 what_col, func_col;
	char what[SEG_NAME_LEN];
	char func[SEG_NAME_LEN];
};

struct schedule {
	int nseg;
	struct segment seg[MAX_SEGS];
};

/* A fuzz input either spells out its schedule or asks for PCT runs. */
struct fuzz_pct {
	bool on;
	u64 seed;
	int depth;
	int schedules;	/* runs per input, each with its own seed */
	u64 est_steps;	/* the first run's expected length */
};

struct repro {
	struct settings settings;
	struct program prog;
	struct schedule sched;
	char title[200];
	u64 trace_hash;
	bool has_hash;
	struct fuzz_pct pct;	/* decode_input() only; never in a file */
};

const char *op_name(int kind);
/* "write(p1)", "madvise(p0, 2, MADV_DONTNEED) @1", ... */
void op_format(const struct op *op, char *buf, size_t len);
unsigned long op_addr(const struct op *op);

/* Random program from the whole op alphabet built so far. */
struct rng;
void prog_generate(struct program *p, struct rng *rng, int ncpus, int nops);
/* Removes op @i of CPU @c; the ops after it move up. */
void prog_del_op(struct program *p, int c, int i);
/* One small change to @p that keeps it well-formed, at most @nops per CPU. */
void prog_mutate(struct program *p, struct rng *rng, int nops);

/*
 * Repro files.  Parsers return 0, or -1 with a one-line reason in @err:
 * "NAME:LINE:COLUMN: what is wrong (the accepted range)".  The grammar is
 * in docs/repro-format.md.  repro_parse() takes a NUL-terminated text;
 * repro_parse_buf() takes @len bytes (a NUL byte in them is an error).
 */
#define REPRO_MAX_BYTES (1 << 20)
int repro_parse(const char *text, struct repro *r, char *err, size_t errlen);
int repro_parse_buf(const char *text, size_t len, const char *name,
		    struct repro *r, char *err, size_t errlen);
/*
 * A whole regular file (or "-": standard input) of at most @max bytes,
 * NUL-terminated, in malloc()ed *@text; -1 with a one-line reason.
 */
int repro_read_file(const char *path, size_t max, char **text, size_t *len,
		    char *err, size_t errlen);
/* A path, or "-" for standard input. */
int repro_load(const char *path, struct repro *r, char *err, size_t errlen);
void repro_print(FILE *f, const struct repro *r);
/* 0, or -1 with errno set; a failed write leaves no file behind. */
int repro_save(const char *path, const struct repro *r);
/* A file name from a report title (corpus/crashes/<slug>-<hash>.repro). */
void repro_slug(const char *title, char *out, size_t len);
/* Same settings, program and schedule (the fields each op kind uses). */
bool repro_equal(const struct repro *a, const struct repro *b);
/*
 * Every named point of the schedule is one the engine can emit (the
 * catalog is generated from the sources at build time); else -1 and
 * "NAME:LINE:COL: unknown point 'X' (did you mean 'Y'?)".
 */
int repro_check_points(const struct repro *r, const char *name, char *err,
		       size_t errlen);
/* The generated catalog (points.c): event names and function names. */
extern const char *const point_names[];
extern const int nr_point_names;
extern const char *const point_funcs[];
extern const int nr_point_funcs;

/* Fuzzer bytes -> program + schedule (fuzz/ and `migrace decode`). */
void decode_input(const u8 *data, size_t size, struct repro *r);
/* The strategy a decoded input runs under: its PCT run, or its segments. */
struct strategy;
void decode_strategy(const struct repro *r, struct strategy *st);
/*
 * Run a decoded input as the fuzz targets do: its schedule, or its PCT
 * runs up to the first report.  1 if one reported (@res is that run).
 * @hash false skips the trace hash (res->trace_hash is 0): the fuzz
 * targets hash only the run of a report, by running the input again.
 */
struct run_result;
int fuzz_run_input(const struct repro *r, struct run_result *res, bool hash);
/* schedules fuzz_run_input() has run in this process (for throughput) */
extern unsigned long fuzz_schedules;
/*
 * The inverse of decode_input() for a program and a machine-form schedule
 * (steps, releases, to end; not named points), or with @r->pct.on its PCT
 * runs (the nearest the format has): the number of bytes written to
 * @buf, or -1 if it does not fit or cannot be encoded.  Settings are not
 * encoded (the fuzz targets take them from the environment).  The byte
 * format is described in engine/prog/decode.c.
 */
long encode_input(const struct repro *r, u8 *buf, size_t cap);
/*
 * The fuzz targets' structure-aware mutators (libFuzzer's custom mutator
 * and cross-over, AFL++'s custom mutator): decode, change the program
 * (prog_mutate(), a new prog_generate() program, another program's ops)
 * or its PCT runs, encode.  @bytes is the fuzzer's own byte mutator, used
 * for a minority of the mutations (NULL: never).  The new size, at most
 * @max, written to @data (@out).
 */
typedef size_t (*byte_mutator)(u8 *data, size_t size, size_t max);
size_t fuzz_mutate(u8 *data, size_t size, size_t max, u64 seed,
		   byte_mutator bytes);
size_t fuzz_crossover(const u8 *a, size_t na, const u8 *b, size_t nb,
		      u8 *out, size_t max, u64 seed);

#endif
