/*
 * Reports: a kernel-style first line, detail lines, and a CPU-column
 * diagram built from the executed trace.  The diagram keeps the events
 * that touch the memory the bug is about: its page-table entry, the lock
 * protecting it, TLB fills and flushes covering it, user accesses to it,
 * and the program ops around them.  The oracle that reports names the
 * objects it is about (report_object(): the page, its pte slot, a lock,
 * the pgmap, the anon_vma, the notifier range); the diagram keeps every
 * event on them by any CPU.  A report that names neither an address nor
 * an object (a bare BUG_ON) keeps the events on the objects the reporting
 * CPU touched last.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/memremap.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/run.h>
#include <migrace/spinlock.h>
#include "../sched/sched_core.h"
#include "../sched/stress.h"

void run_abort(void) __attribute__((noreturn));

struct report_state {
	bool pending;
	char title[200];
	char details[4096];
	size_t dlen;
	const struct mm_struct *mm;
	unsigned long addr;
	int cpu;
	char access_note[96];	/* what the offending access saw */
	const struct page *page;	/* its flag/refcount events are kept */
	struct robj {
		const void *p;
		size_t size;
		enum report_kind kind;
	} obj[NR_REPORT_OBJS];
	int nobj;
	bool held_locks;	/* the reporting CPU's unreleased locks */
};

/*
 * Per thread: in stress mode each CPU thread builds its own; the first
 * to report copies it to @claimed, which the main thread's
 * report_finish() prints.  In controlled mode there is one thread.
 */
static _Thread_local struct report_state R;
static struct report_state claimed;
static int claimed_set, claimed_lock;

static void add_object(const void *obj, size_t size, enum report_kind kind)
{
	if (!obj || R.nobj == NR_REPORT_OBJS)
		return;
	for (int i = 0; i < R.nobj; i++)
		if (R.obj[i].p == obj)
			return;
	R.obj[R.nobj].p = obj;
	R.obj[R.nobj].size = size ? size : 1;
	R.obj[R.nobj].kind = kind;
	R.nobj++;
}

void report_object(const void *obj, size_t size, enum report_kind kind)
{
	if (!obj || R.pending)	/* the first report wins */
		return;
	add_object(obj, size, kind);
	switch (kind) {
	case RO_PAGE:
		if (!R.page)
			R.page = obj;
		break;
	case RO_PTE:
		/* the slot's table lock: who held it when */
		if (!kobj_freed(pte_table_of(obj)))
			add_object(&pte_table_of(obj)->ptl, sizeof(spinlock_t),
				   RO_SPINLOCK);
		break;
	case RO_ANON_VMA: {
		const struct anon_vma *av = obj;

		/* its lock is the root's */
		if (!kobj_freed(av) && av->root && av->root != av &&
		    !kobj_freed(av->root))
			add_object(av->root, sizeof(*av), RO_ANON_VMA);
		break;
	}
	default:
		break;
	}
}

void report_held_locks(void)
{
	R.held_locks = true;
}

static bool is_page(const void *p)
{
	return (const struct page *)p >= mem_map &&
	       (const struct page *)p < mem_map + MAX_PFN;
}

/*
 * A lock known by the helper that took it: "spin_lock" and
 * "pte_offset_map_lock" take a spinlock_t, "lock_page" a page, the mmap,
 * anon_vma and mutex helpers a struct rw_semaphore.
 */
static enum report_kind lock_kind(const void *obj, const char *what)
{
	if (is_page(obj))
		return RO_PAGE;
	if (!strncmp(what, "spin_", 5) || !strcmp(what, "pte_offset_map_lock"))
		return RO_SPINLOCK;
	if (strstr(what, "lock_read") || strstr(what, "lock_write") ||
	    strstr(what, "read_lock") || strstr(what, "write_lock") ||
	    strstr(what, "trylock_read") || !strcmp(what, "mutex_lock"))
		return RO_RWSEM;
	return RO_LOCK;
}

static void add_lock(const void *obj, const char *what)
{
	enum report_kind kind = lock_kind(obj, what);

	add_object(obj, kind == RO_PAGE ? sizeof(struct page) :
			kind == RO_SPINLOCK ? sizeof(spinlock_t) :
			kind == RO_RWSEM ? sizeof(struct rw_semaphore) : 1,
		   kind);
}

/*
 * A lock the reporting CPU took and did not release, if it still holds it
 * (a failed trylock leaves an acquire event and no release).
 */
static void add_held_lock(const void *obj, const char *what)
{
	switch (lock_kind(obj, what)) {
	case RO_SPINLOCK:
		if (((const spinlock_t *)obj)->locked == R.cpu + 1)
			add_lock(obj, what);
		break;
	case RO_RWSEM:
		if (((const struct rw_semaphore *)obj)->count)
			add_lock(obj, what);
		break;
	case RO_PAGE:
		break;	/* the page lock is a flag, not a held lock */
	default:
		add_object(obj, 1, RO_HELD);
	}
}

void report_waited_lock(const void *obj, const char *what)
{
	if (obj && !R.pending)
		add_lock(obj, what);
}

void report_page(const struct page *page)
{
	report_object(page, sizeof(*page), RO_PAGE);
}

void report_access_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(R.access_note, sizeof(R.access_note), fmt, ap);
	va_end(ap);
}

void report_begin_run(void)
{
	claimed_set = 0;
	R.pending = false;
	R.access_note[0] = 0;
	R.page = NULL;
	R.nobj = 0;
	R.held_locks = false;
	R.dlen = 0;
	R.details[0] = 0;
}

bool report_pending(void)
{
	return R.pending;
}

void report_detail(const char *fmt, ...)
{
	va_list ap;

	if (R.dlen >= sizeof(R.details) - 2)
		return;
	va_start(ap, fmt);
	R.dlen += vsnprintf(R.details + R.dlen, sizeof(R.details) - R.dlen,
			    fmt, ap);
	va_end(ap);
	if (R.dlen < sizeof(R.details) - 1) {
		R.details[R.dlen++] = '\n';
		R.details[R.dlen] = 0;
	}
}

void report_bug(const struct mm_struct *mm, unsigned long addr,
		const char *fmt, ...)
{
	va_list ap;

	if (!R.pending) {	/* the first report wins */
		va_start(ap, fmt);
		vsnprintf(R.title, sizeof(R.title), fmt, ap);
		va_end(ap);
		R.mm = mm;
		R.addr = addr;
		/* -1: an end-state check, after every CPU returned */
		R.cpu = current_cpu ? current_cpu->id : -1;
		R.pending = true;
	}
	if (stress_mode && !sched_in_cpu() && !stress_is_main()) {
		/*
		 * An RCU callback on the worker thread: nothing to unwind to,
		 * no CPU to stop.  Print what is known and end the run.
		 */
		printf("BUG: migrace: %s\n%sreported in an RCU callback (stress mode); no diagram, no repro\n",
		       R.title, R.details);
		fflush(stdout);
		_exit(1);
	}
	if (stress_mode && sched_in_cpu()) {
		stress_harness_lock(&claimed_lock);
		if (!claimed_set) {
			claimed = R;
			claimed_set = 1;
		}
		stress_harness_unlock(&claimed_lock);
	}
	run_abort();
}

/*
 * engine/mm/memory.c, not the build's absolute path: titles stay stable.
 * The build maps the source directory away (-fmacro-prefix-map); this
 * covers a compiler without it.
 */
static const char *repo_path(const char *file)
{
	const char *p = strstr(file, "/engine/");

	if (!p)
		p = strstr(file, "/include/");
	return p ? p + 1 : file;
}

void __mg_bug(const char *cond, const char *file, int line, const char *func)
{
	report_bug(NULL, 0, "kernel BUG at %s:%d! %s in %s()", repo_path(file),
		   line, cond, func);
}

void __mg_warn(const char *cond, const char *file, int line, const char *func)
{
	report_bug(NULL, 0, "WARNING at %s:%d %s() %s", repo_path(file), line,
		   func, cond);
}

/* ---- the diagram ---- */

#define COL 40
#define MAX_LINES 160

struct dline {
	int cpu;
	char text[COL * 3];
};

/* A page-table entry event of the reported process (tables know their mm). */
static bool pte_of_mm(const void *ptep)
{
	const struct pte_table *t = pte_table_of(ptep);

	return !R.mm || (!kobj_freed(t) && t->mm == R.mm);
}

/*
 * A report without an address (a kernel assertion, a use-after-free of a
 * pgmap or an anon_vma, a lock or liveness report) is about the objects
 * the reporting CPU was working on: the ones its last events touched.
 */
#define NR_INVOLVED 12

static const void *involved[NR_INVOLVED];
static int ninvolved;

static void find_involved(const struct trace_ev *t, int n)
{
	ninvolved = 0;
	if (R.page)
		involved[ninvolved++] = R.page;
	for (int i = n - 1; i >= 0 && ninvolved < NR_INVOLVED; i--) {
		const struct trace_ev *e = &t[i];
		int k;

		if (e->cpu != R.cpu || !e->obj || e->kind == EV_OP_BEGIN ||
		    e->kind == EV_OP_END)
			continue;
		for (k = 0; k < ninvolved && involved[k] != e->obj; k++)
			;
		if (k == ninvolved)
			involved[ninvolved++] = e->obj;
	}
}

static bool ev_on_involved(const struct trace_ev *e)
{
	if (e->kind == EV_OP_BEGIN || e->kind == EV_OP_END)
		return true;
	for (int k = 0; k < ninvolved; k++)
		if (e->obj == involved[k])
			return true;
	return false;
}

static bool ev_on_address(const struct trace_ev *e, unsigned long page,
			  const void *const *ptls, int nptl)
{
	switch (e->kind) {
	case EV_OP_BEGIN:
	case EV_OP_END:
		return true;
	case EV_LOCK:
	case EV_UNLOCK:
		for (int i = 0; i < nptl; i++)
			if (e->obj == ptls[i])
				return true;
		return false;
	case EV_TLB:
		if (R.mm && e->obj != R.mm)
			return false;
		if (!strcmp(e->what, "tlb fill"))
			return (e->addr & PAGE_MASK) == page;
		return e->val == 0 || (page >= e->addr && page < e->val);
	case EV_PTE_WRITE:
		return (e->addr & PAGE_MASK) == page && e->obj &&
		       pte_of_mm(e->obj);
	case EV_USER:
		return (e->addr & PAGE_MASK) == page && (!R.mm || e->obj == R.mm);
	case EV_ATOMIC:
	case EV_NOTE:
		return R.page && e->obj == R.page;
	default:
		return false;
	}
}

/* Does a pte value map @pfn, present or as a migration/device entry? */
static bool pte_maps(u64 val, unsigned long pfn)
{
	pte_t pte = { .pte = val };
	swp_entry_t entry;

	if (pte_present(pte))
		return pte_pfn(pte) == pfn;
	if (!is_swap_pte(pte))
		return false;
	entry = pte_to_swp_entry(pte);
	return is_pfn_swap_entry(entry) && swp_offset_pfn(entry) == pfn;
}

/* The pte slots that mapped a reported page at some point of the run. */
#define NR_SLOTS 16
static const void *slots[NR_SLOTS];
static int nslots;

static void find_objects(const struct trace_ev *t, int n)
{
	nslots = 0;
	for (int i = 0; i < n && nslots < NR_SLOTS; i++) {
		const struct trace_ev *e = &t[i];

		if (e->kind != EV_PTE_WRITE || !e->obj || !e->val)
			continue;
		for (int k = 0; k < R.nobj; k++) {
			int j;

			if (R.obj[k].kind != RO_PAGE ||
			    !pte_maps(e->val, page_to_pfn(R.obj[k].p)))
				continue;
			for (j = 0; j < nslots && slots[j] != e->obj; j++)
				;
			if (j == nslots)
				slots[nslots++] = e->obj;
			break;
		}
	}
	if (!R.held_locks)
		return;
	/* The locks the reporting CPU took and has not released. */
	{
		const void *held[NR_REPORT_OBJS];
		const char *what[NR_REPORT_OBJS];
		int nheld = 0;

		for (int i = 0; i < n; i++) {
			const struct trace_ev *e = &t[i];

			if (e->cpu != R.cpu || !e->obj)
				continue;
			/* a blocked attempt repeats the event: count once */
			if (e->kind == EV_LOCK && nheld < NR_REPORT_OBJS &&
			    (!nheld || held[nheld - 1] != e->obj)) {
				what[nheld] = e->what;
				held[nheld++] = e->obj;
			} else if (e->kind == EV_UNLOCK) {
				for (int k = nheld - 1; k >= 0; k--)
					if (held[k] == e->obj) {
						held[k] = held[--nheld];
						what[k] = what[nheld];
						break;
					}
			}
		}
		for (int k = 0; k < nheld; k++)
			add_held_lock(held[k], what[k]);
	}
}

static bool ev_on_object(const struct trace_ev *e)
{
	const char *o = e->obj;

	if (!o)
		return false;
	for (int k = 0; k < R.nobj; k++) {
		const char *p = R.obj[k].p;

		if (o >= p && o < p + R.obj[k].size)
			return true;
		if (R.obj[k].kind == RO_PAGE && e->kind == EV_TLB &&
		    !strcmp(e->what, "tlb fill") &&
		    (e->val >> 12) == page_to_pfn(R.obj[k].p))
			return true;
		/* invalidations of the process overlapping the range */
		if (R.obj[k].kind == RO_RANGE && e->kind == EV_NOTE &&
		    !strncmp(e->what, "mmu_notifier_invalidate_range_", 30)) {
			const struct mmu_interval_notifier *mni = R.obj[k].p;

			if (e->obj == mni->mm && e->addr <= mni->last &&
			    e->val > mni->start)
				return true;
		}
	}
	if (e->kind == EV_PTE_WRITE)
		for (int k = 0; k < nslots; k++)
			if (o == slots[k])
				return true;
	return false;
}

/* A page's flag and count reads: the writes tell the story. */
static bool page_read(const struct trace_ev *e)
{
	return e->kind == EV_ATOMIC && is_page(e->obj) &&
	       (!strcmp(e->what, "test_bit") || !strcmp(e->what, "page_count") ||
		!strcmp(e->what, "page_mapcount") ||
		!strcmp(e->what, "folio_ref_count"));
}

/*
 * Too few events on the named objects (an assertion on a page nobody else
 * touched, say): add the objects the reporting CPU touched last, and the
 * reads too.
 */
static bool widen;

static bool ev_relevant(const struct trace_ev *e, unsigned long page,
			const void *const *ptls, int nptl)
{
	if (e->kind == EV_OP_BEGIN || e->kind == EV_OP_END)
		return true;
	if (widen)
		return ev_on_object(e) || ev_on_involved(e);
	if (page_read(e))
		return false;
	if (page && ev_on_address(e, page, ptls, nptl))
		return true;
	if (R.nobj)
		return ev_on_object(e);
	return !page && ev_on_involved(e);
}

/* A lock's name, unless its memory was freed (poisoned with 0x6b). */
static const char *lock_name(const char *name)
{
	return name && (uintptr_t)name != (uintptr_t)0x6b6b6b6b6b6b6b6bULL ?
	       name : "(freed lock)";
}

/* A lock the report names, by its name ("ptl", "mmap_lock", ...). */
static const char *object_name(const void *obj)
{
	for (int k = 0; k < R.nobj; k++) {
		if (R.obj[k].p != obj)
			continue;
		if (R.obj[k].kind == RO_SPINLOCK)
			return lock_name(((const spinlock_t *)obj)->name);
		if (R.obj[k].kind == RO_RWSEM)
			return lock_name(((const struct rw_semaphore *)obj)->name);
	}
	return NULL;
}

static void ev_text(const struct trace_ev *e, char *buf, size_t len)
{
	switch (e->kind) {
	case EV_OP_BEGIN:
		snprintf(buf, len, "%s", e->what);
		break;
	case EV_OP_END:
		snprintf(buf, len, "%s", e->what);
		break;
	case EV_USER:
		if (!strcmp(e->what, "user store"))
			snprintf(buf, len, "store %#lx <- %#llx", e->addr,
				 (unsigned long long)e->val);
		else
			snprintf(buf, len, "load %#lx", e->addr);
		break;
	case EV_TLB:
		if (!strcmp(e->what, "tlb fill"))
			snprintf(buf, len, "  [TLB fill %#lx -> pfn %llu]",
				 e->addr,
				 (unsigned long long)(e->val >> 12));
		else
			snprintf(buf, len, "    %s()", e->what);
		break;
	case EV_PTE_WRITE:
		snprintf(buf, len, "    %s(%#lx)%s", e->what, e->addr,
			 strcmp(e->what, "pte_clear_not_present_full") ? "" :
			 "  [not present: no flush]");
		break;
	case EV_ATOMIC:
	case EV_NOTE:
		if (is_page(e->obj))
			snprintf(buf, len, "    %s(pfn %lu)", e->what,
				 page_to_pfn(e->obj));
		else
			snprintf(buf, len, "    %s()", e->what);
		break;
	case EV_LOCK:
	case EV_UNLOCK:
	case EV_WAIT: {
		const char *name = object_name(e->obj);

		if (name)
			snprintf(buf, len, "    %s(%s)", e->what, name);
		else if (is_page(e->obj))
			snprintf(buf, len, "    %s(pfn %lu)", e->what,
				 page_to_pfn(e->obj));
		else
			snprintf(buf, len, "    %s()", e->what);
		break;
	}
	default:
		snprintf(buf, len, "    %s()", e->what);
	}
}

static size_t render_diagram(char *out, size_t len)
{
	int n, nptl = 0, nl = 0, first;
	const struct trace_ev *t = sched_trace(&n);
	const void *ptls[16];
	unsigned long page = R.addr & PAGE_MASK;
	static struct dline lines[MAX_LINES];
	const char *last_func[NR_CPUS] = { 0 };
	size_t off = 0;
	int ncols = nr_cpus ? nr_cpus : 1;

	find_involved(t, n);
	find_objects(t, n);
	widen = false;
	if (R.nobj && !R.addr) {
		int on = 0;

		for (int i = 0; i < n && on < 3; i++)
			on += t[i].kind != EV_OP_BEGIN && t[i].kind != EV_OP_END &&
			      ev_relevant(&t[i], 0, NULL, 0);
		widen = on < 3;
	}
	for (int i = 0; page && i < n && nptl < 16; i++) {
		const struct trace_ev *e = &t[i];

		if ((e->kind == EV_PTE_WRITE || e->kind == EV_PTE_READ) &&
		    (e->addr & PAGE_MASK) == page && e->obj &&
		    pte_of_mm(e->obj) &&
		    strncmp(e->what, "walk", 4) && strncmp(e->what, "hw ", 3) &&
		    strcmp(e->what, "pmd_populate") && strcmp(e->what, "pmd_clear") &&
		    strcmp(e->what, "pte_offset_map")) {
			const void *ptl = &pte_table_of(e->obj)->ptl;
			int k;

			for (k = 0; k < nptl && ptls[k] != ptl; k++)
				;
			if (k == nptl)
				ptls[nptl++] = ptl;
		}
	}
	/* Keep the last events that matter; start at an op boundary. */
	first = n;
	for (int i = n - 1, kept = 0;
	     i >= 0 && kept < (page ? MAX_LINES / 2 :
			       R.nobj ? MAX_LINES / 3 : MAX_LINES / 4); i--)
		if (ev_relevant(&t[i], page, ptls, nptl)) {
			first = i;
			kept++;
		}
	int last_access = -1;

	for (int i = n - 1; i >= 0 && R.access_note[0]; i--)
		if (t[i].kind == EV_USER && t[i].cpu == R.cpu &&
		    (t[i].addr & PAGE_MASK) == page) {
			last_access = i;
			break;
		}
	for (int i = first; i < n && nl < MAX_LINES - 1; i++) {
		const struct trace_ev *e = &t[i];
		char txt[COL * 3];

		if (!ev_relevant(e, page, ptls, nptl))
			continue;
		if (e->cpu >= NR_CPUS)
			continue;
		if (e->kind != EV_OP_BEGIN && e->kind != EV_OP_END &&
		    e->kind != EV_USER && e->func &&
		    last_func[e->cpu] != e->func &&
		    strcmp(e->func, "hw walker") && strcmp(e->func, "user") &&
		    strcmp(e->func, e->what)) {
			lines[nl].cpu = e->cpu;
			snprintf(lines[nl].text, sizeof(lines[nl].text),
				 "  %s()", e->func);
			nl++;
			last_func[e->cpu] = e->func;
		}
		if (e->kind == EV_OP_BEGIN || e->kind == EV_OP_END)
			last_func[e->cpu] = NULL;
		ev_text(e, txt, sizeof(txt));
		if (i == last_access) {
			size_t l = strlen(txt);

			snprintf(txt + l, sizeof(txt) - l, "  %s", R.access_note);
		}
		lines[nl].cpu = e->cpu;
		snprintf(lines[nl].text, sizeof(lines[nl].text), "%s", txt);
		nl++;
	}
	/* where the report was made, after everything that led to it */
	if (R.cpu >= 0 && R.cpu < NR_CPUS && nl < MAX_LINES) {
		lines[nl].cpu = R.cpu;
		snprintf(lines[nl].text, sizeof(lines[nl].text),
			 "  => reported here");
		nl++;
	}
	for (int c = 0; c < ncols; c++)
		off += snprintf(out + off, len - off, "%-*s", COL,
				c == 0 ? "CPU0" : c == 1 ? "CPU1" :
				c == 2 ? "CPU2" : "CPU3");
	off += snprintf(out + off, len - off, "\n");
	for (int c = 0; c < ncols; c++)
		off += snprintf(out + off, len - off, "%-*s", COL, "----");
	off += snprintf(out + off, len - off, "\n");
	for (int i = 0; i < nl && off < len - 200; i++) {
		off += snprintf(out + off, len - off, "%*s%s\n",
				COL * lines[i].cpu, "", lines[i].text);
	}
	return off;
}

/* One detail line per object the report names: which one, its state. */
static size_t describe_objects(char *out, size_t len)
{
	size_t off = 0;

	for (int k = 0; k < R.nobj && off < len; k++) {
		const void *p = R.obj[k].p;
		enum report_kind kind = R.obj[k].kind;
		/* only these are slab objects (kobj_freed() reads a header) */
		const char *freed = (kind == RO_ANON_VMA || kind == RO_OBJECT) &&
				    kobj_freed(p) ? " (freed)" : "";

		switch (R.obj[k].kind) {
		case RO_PAGE: {
			const struct page *page = p;

			off += snprintf(out + off, len - off,
					"page: pfn %lu, refcount %d, mapcount %d, flags %#lx%s\n",
					page_to_pfn(page), page->_refcount,
					page->_mapcount + 1, page->flags,
					page->pgmap ? ", device" : "");
			break;
		}
		case RO_PTE:
			if (kobj_freed(pte_table_of(p)))
				off += snprintf(out + off, len - off,
						"pte: a slot of a freed pte table\n");
			else
				off += snprintf(out + off, len - off,
						"pte: %#lx of process %d, %#llx\n",
						pte_addr_of(p),
						pte_table_of(p)->mm ?
						pte_table_of(p)->mm->id : -1,
						(unsigned long long)((const pte_t *)p)->pte);
			break;
		case RO_SPINLOCK:
			if (((const spinlock_t *)p)->locked > 0 &&
			    ((const spinlock_t *)p)->locked <= NR_CPUS)
				off += snprintf(out + off, len - off,
						"lock: %s, held by CPU %d\n",
						lock_name(((const spinlock_t *)p)->name),
						((const spinlock_t *)p)->locked - 1);
			else
				off += snprintf(out + off, len - off,
						"lock: %s, %s\n",
						lock_name(((const spinlock_t *)p)->name),
						((const spinlock_t *)p)->locked ?
						"held" : "not held");
			break;
		case RO_RWSEM:
			off += snprintf(out + off, len - off, "lock: %s, count %d\n",
					lock_name(((const struct rw_semaphore *)p)->name),
					((const struct rw_semaphore *)p)->count);
			break;
		case RO_HELD:
			off += snprintf(out + off, len - off,
					"lock: still held by CPU %d (taken in the events below)\n",
					R.cpu);
			break;
		case RO_LOCK:
			off += snprintf(out + off, len - off,
					"lock: its events are below\n");
			break;
		case RO_FREED_LOCK:
			off += snprintf(out + off, len - off,
					"lock: in a freed object; its events are below\n");
			break;
		case RO_PGMAP: {
			const struct dev_pagemap *pgmap = p;

			off += snprintf(out + off, len - off,
					"dev_pagemap: %s, pfn %lu..%lu, ref %d%s%s\n",
					pgmap->type == MEMORY_DEVICE_PRIVATE ?
					"device-private" : "device-coherent",
					pgmap->first_pfn,
					pgmap->first_pfn + pgmap->nr_pages - 1,
					pgmap->ref, pgmap->killed ? ", killed" : "",
					pgmap->dead ? ", unmapped (memunmap_pages done)" : "");
			break;
		}
		case RO_ANON_VMA:
			off += snprintf(out + off, len - off, "anon_vma%s%s\n",
					freed, k && R.obj[k - 1].kind == RO_ANON_VMA ?
					" (the root of the one above)" : "");
			break;
		case RO_RANGE: {
			const struct mmu_interval_notifier *mni = p;

			off += snprintf(out + off, len - off,
					"notifier range: %#lx..%#lx, seq %lu\n",
					mni->start, mni->last, mni->invalidate_seq);
			break;
		}
		case RO_MM:
			off += snprintf(out + off, len - off, "mm: process %d\n",
					((const struct mm_struct *)p)->id);
			break;
		default:
			off += snprintf(out + off, len - off, "object%s\n", freed);
		}
	}
	return off < len ? off : len;
}

void report_finish(struct run_result *res, const char *repro_hint)
{
	size_t off = 0, len = sizeof(res->report);

	if (stress_mode && claimed_set) {
		R = claimed;
		claimed_set = 0;
	}
	res->bug = true;
	snprintf(res->title, sizeof(res->title), "%s", R.title);
	off += snprintf(res->report + off, len - off, "BUG: migrace: %s\n",
			R.title);
	off += snprintf(res->report + off, len - off, "%s", R.details);
	if (R.cpu >= 0)
		off += snprintf(res->report + off, len - off,
				"reported on CPU %d\n", R.cpu);
	else
		off += snprintf(res->report + off, len - off,
				"reported by the end-state check, after every CPU returned\n");
	{
		/* the diagram's pass also finds the locks still held */
		static char diagram[REPORT_LEN];

		render_diagram(diagram, sizeof(diagram));
		off += describe_objects(res->report + off, len - off);
		off += snprintf(res->report + off, len - off, "\n%s", diagram);
	}
	if (repro_hint)
		snprintf(res->report + off, len - off, "%s", repro_hint);
}
