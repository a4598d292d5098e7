/*
 * Reports: a kernel-style first line, detail lines, and a CPU-column
 * diagram built from the executed trace.  The diagram keeps the events
 * that touch the memory the bug is about: its page-table entry, the lock
 * protecting it, TLB fills and flushes covering it, user accesses to it,
 * and the program ops around them.  A report without an address keeps
 * the events, by any CPU, on the objects the reporting CPU touched last.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/mm.h>
#include <migrace/run.h>
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
};

/*
 * Per thread: in stress mode each CPU thread builds its own; the first
 * to report copies it to @claimed, which the main thread's
 * report_finish() prints.  In controlled mode there is one thread.
 */
static _Thread_local struct report_state R;
static struct report_state claimed;
static int claimed_set, claimed_lock;

void report_page(const struct page *page)
{
	R.page = page;
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
		R.cpu = smp_processor_id();
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

/* engine/mm/memory.c, not the build's absolute path: titles stay stable. */
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

static bool ev_relevant(const struct trace_ev *e, unsigned long page,
			const void *const *ptls, int nptl)
{
	if (!page)
		return ev_on_involved(e);
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

	if (!R.addr)
		find_involved(t, n);
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
	     i >= 0 && kept < (page ? MAX_LINES / 2 : MAX_LINES / 4); i--)
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
	off += snprintf(res->report + off, len - off, "reported on CPU %d\n",
			R.cpu);
	off += snprintf(res->report + off, len - off, "\n");
	off += render_diagram(res->report + off, len - off);
	if (repro_hint)
		snprintf(res->report + off, len - off, "%s", repro_hint);
}
