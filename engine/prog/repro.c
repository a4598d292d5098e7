/*
 * Repro files: plain text a person can read and edit.
 *
 *   variant upstream
 *   arch x86
 *   revert flush-tlb-under-ptl
 *   setup populate fork warm
 *   cpu 0:
 *       write(p1)
 *       migrate_to_device(p0, 4)
 *   cpu 1:
 *       madvise(p1, 1, MADV_DONTNEED)
 *   schedule:
 *       run 0 until pte_unmap_unlock in migrate_vma_collect_pmd
 *       run 1 until return madvise
 *       run 0 120
 *       run 1 to end
 *
 * "run C N" runs CPU C for N events (the machine form); "run C N
 * releases" for N release events (unlocks and op returns); "until EVENT
 * [in FUNCTION] [#K]" stops right after the K-th such event; "to end"
 * runs C until its program ends or it blocks.  `migrace repro --trace`
 * prints every event with its name and function.
 *
 * The parser rejects instead of guessing (docs/repro-format.md has the
 * grammar): every error names FILE:LINE:COLUMN and the accepted range, and
 * accepts exactly what repro_print() writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migrace/fixes.h>
#include <migrace/num.h>
#include <migrace/mm.h>
#include <migrace/prog.h>

#define MAX_LINE 4096

struct pctx {
	const char *name;
	int line;
	const char *lstart;	/* the current line, for columns */
	char *err;
	size_t elen;
};

static int perr_at(struct pctx *c, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int perr_at(struct pctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, c->elen, "%s:%d:%d: ", c->name, line, col);
	if (n < 0 || (size_t)n >= c->elen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->elen - n, fmt, ap);
	va_end(ap);
	return -1;
}

#define perr(c, at, ...) \
	perr_at(c, (c)->line, (int)((at) - (c)->lstart) + 1, __VA_ARGS__)

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t';
}

static const char *skip_ws(const char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static bool is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static size_t word_len(const char *p)
{
	size_t n = 0;

	while (is_word(p[n]))
		n++;
	return n;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && !strncmp(p, w, n);
}

/* Length of a token for quoting in a message: up to a space or ',' ')'. */
static int tok_len(const char *p)
{
	int n = 0;

	while (p[n] && !is_ws(p[n]) && p[n] != ',' && p[n] != ')' && n < 40)
		n++;
	return n ? n : 1;
}

/* A decimal number in [min, max] spanning p[0..n). */
static int get_num(struct pctx *c, const char *p, size_t n, u64 min, u64 max,
		   int bases, const char *what, u64 *out)
{
	switch (num_parse_u64(p, n, bases, min, max, out)) {
	case NUM_OK:
		return 0;
	case NUM_SYNTAX:
		if (!n)
			return perr(c, p, "%s: expected a number", what);
		return perr(c, p, "%s: expected a number, got '%.*s'", what,
			    (int)min(n, (size_t)40), p);
	default:
		return perr(c, p, "%s %.*s is out of range (%llu..%llu)", what,
			    (int)min(n, (size_t)40), p, (unsigned long long)min,
			    (unsigned long long)max);
	}
}

static size_t num_len(const char *p)
{
	size_t n = 0;

	while (is_word(p[n]))
		n++;
	return n;
}

/* What an op takes, for messages: "madvise(pN, K, MADV_*)". */
static const char *sig_text(int k, char *buf, size_t len)
{
	u16 a = op_sigs[k].args;

	snprintf(buf, len, "%s(%s%s%s%s%s%s%s%s%s%s%s%s)", op_name(k),
		 a & OPA_PAGE ? "pN" : "", a & OPA_NPAGES ? ", K" : "",
		 a & OPA_ADVICE ? ", MADV_*" : "",
		 a & OPA_PROT ? ", PROT_READ[|PROT_WRITE]" : "",
		 a & OPA_MEM ? "[, private][, coherent]" : "",
		 a & OPA_FAULT ? "[, fault]" : "",
		 a & OPA_SLOT ? "[, slot S|dev]" : "",
		 a & OPA_MASKS ? "[, decline M][, failcopy M]" : "",
		 a & OPA_PINFLAGS ? "[, write][, longterm][, fast]" : "",
		 a & OPA_SPARE ? "[spare M]" : "",
		 a & OPA_NODE ? (a & OPA_PAGE ? "[, node N]" : "[node N]") : "",
		 a & OPA_MOVEALL ? "[, all]" : "");
	return buf;
}

/* A deferred check: a read's slot must be below the file's CPU count. */
struct slot_ref {
	int line;
	int col;
};

static int pin_flag_by_name(const char *s, size_t n)
{
	for (int b = 1; b <= PIN_ALL; b <<= 1)
		if (word_is(s, n, pin_flag_name(b)))
			return b;
	return 0;
}

static int mem_kind_by_name(const char *s, size_t n)
{
	for (int b = 1; b <= MEM_ALL; b <<= 1)
		if (word_is(s, n, mem_kind_name(b)))
			return b;
	return 0;
}

static int parse_op(struct pctx *c, const char *s, struct op *op,
		    struct slot_ref *sref)
{
	static const u16 order[] = { OPA_PAGE, OPA_NPAGES, OPA_ADVICE,
				    OPA_PROT };
	const char *p = s, *open, *close, *q;
	char sig[224];
	size_t n = word_len(p);
	int k, npos = 0, next = 0;
	bool have_slot = false, have_decline = false, have_failcopy = false;
	bool have_spare = false, have_node = false;
	u64 v;
	u16 args;

	memset(op, 0, sizeof(*op));
	op->slot = NR_CPUS;
	op->npages = 1;
	k = n ? op_kind_by_name(p, n) : -1;
	open = skip_ws(p + n);
	if (k < 0) {
		if (*open != '(')
			return perr(c, p, "unknown keyword '%.*s'", tok_len(p), p);
		return perr(c, p, "unknown op '%.*s' (read, write, mmap, munmap, madvise, fork, migrate_to_device, migrate_to_system, reclaim, pin, pin_read, pin_write, unpin, unbind, move_pages, compact, mprotect, exit)",
			    (int)min(n, (size_t)40), p);
	}
	op->kind = (u8)k;
	args = op_sigs[k].args;
	sig_text(k, sig, sizeof(sig));
	if (*open != '(')
		return perr(c, open, "expected '(' after %s: %s", op_name(k), sig);
	close = strchr(open, ')');
	if (!close)
		return perr(c, open, "missing ')': %s", sig);
	for (int i = 0; i < (int)ARRAY_SIZE(order); i++)
		npos += !!(args & order[i]);
	q = skip_ws(open + 1);
	if (q == close)
		q = NULL;	/* no arguments */
	while (q) {
		const char *end = q, *e;

		while (end < close && *end != ',')
			end++;
		e = end;
		while (e > q && is_ws(e[-1]))
			e--;
		if (e == q)
			return perr(c, q, "empty argument: %s", sig);
		n = word_len(q);
		if ((args & OPA_PINFLAGS) && n == (size_t)(e - q) &&
		    pin_flag_by_name(q, n)) {
			int b = pin_flag_by_name(q, n);

			if (next < npos)
				return perr(c, q, "'%.*s' before the required arguments: %s",
					    (int)n, q, sig);
			if (op->flags & b)
				return perr(c, q, "'%.*s' given twice", (int)n,
					    q);
			op->flags |= (u8)b;
		} else if ((args & OPA_MEM) && n == (size_t)(e - q) &&
			   mem_kind_by_name(q, n)) {
			int b = mem_kind_by_name(q, n);

			if (next < npos)
				return perr(c, q, "'%.*s' before the required arguments: %s",
					    (int)n, q, sig);
			if (op->mem & b)
				return perr(c, q, "'%.*s' given twice", (int)n,
					    q);
			op->mem |= (u8)b;
		} else if ((args & OPA_FAULT) && n == (size_t)(e - q) &&
			   word_is(q, n, "fault")) {
			if (next < npos)
				return perr(c, q, "'fault' before the required arguments: %s",
					    sig);
			if (op->flags & MIGRATE_FAULT)
				return perr(c, q, "'fault' given twice");
			op->flags |= MIGRATE_FAULT;
		} else if ((args & OPA_MOVEALL) && n == (size_t)(e - q) &&
			   word_is(q, n, "all")) {
			if (next < npos)
				return perr(c, q, "'all' before the required arguments: %s",
					    sig);
			if (op->flags & MOVE_ALL)
				return perr(c, q, "'all' given twice");
			op->flags |= MOVE_ALL;
		} else if (word_is(q, n, "node")) {
			const char *num = skip_ws(q + n);

			if (!(args & OPA_NODE))
				return perr(c, q, "%s takes no 'node': %s",
					    op_name(k), sig);
			if (next < npos)
				return perr(c, q, "'node' before the required arguments: %s",
					    sig);
			if (have_node)
				return perr(c, q, "'node' given twice");
			have_node = true;
			if (num == q + n || num >= e)
				return perr(c, num, "expected 'node NUMBER'");
			if (get_num(c, num, e - num, 0, NR_NODES - 1, NUM_DEC,
				    "node", &v))
				return -1;
			op->node = (u8)v;
		} else if (word_is(q, n, "spare")) {
			const char *num = skip_ws(q + n);

			if (!(args & OPA_SPARE))
				return perr(c, q, "%s takes no 'spare': %s",
					    op_name(k), sig);
			if (have_spare)
				return perr(c, q, "'spare' given twice");
			have_spare = true;
			if (num == q + n || num >= e)
				return perr(c, num, "expected 'spare NUMBER'");
			switch (num_parse_u64(num, e - num, NUM_DEC | NUM_HEX,
					      0, SPARE_MAX, &v)) {
			case NUM_OK:
				break;
			case NUM_SYNTAX:
				return perr(c, num, "spare: expected a number (0x.. or decimal), got '%.*s'",
					    (int)min((size_t)(e - num), (size_t)40),
					    num);
			default:
				return perr(c, num, "spare mask %.*s is out of range (0..%#x)",
					    (int)min((size_t)(e - num), (size_t)40),
					    num, SPARE_MAX);
			}
			op->spare = (u8)v;
		} else if (word_is(q, n, "slot") || word_is(q, n, "decline") ||
		    word_is(q, n, "failcopy")) {
			const char *num = skip_ws(q + n);
			bool slot = q[0] == 's', dec = q[0] == 'd';
			bool *seen = slot ? &have_slot :
				     dec ? &have_decline : &have_failcopy;

			if (!(args & (slot ? OPA_SLOT : OPA_MASKS)))
				return perr(c, q, "%s takes no '%.*s': %s",
					    op_name(k), (int)n, q, sig);
			if (next < npos)
				return perr(c, q, "'%.*s' before the required arguments: %s",
					    (int)n, q, sig);
			if (*seen)
				return perr(c, q, "'%.*s' given twice", (int)n,
					    q);
			*seen = true;
			if (num == q + n || num >= e)
				return perr(c, num, "expected '%.*s NUMBER'",
					    (int)n, q);
			if (slot && word_is(num, (size_t)(e - num), "dev")) {
				op->slot = DEV_SLOT;
			} else if (slot) {
				if (get_num(c, num, e - num, 0, NR_CPUS - 1,
					    NUM_DEC, "slot", &v))
					return -1;
				op->slot = (u8)v;
				sref->line = c->line;
				sref->col = (int)(num - c->lstart) + 1;
			} else {
				u64 max = (1u << op->npages) - 1;

				switch (num_parse_u64(num, e - num,
						      NUM_DEC | NUM_HEX, 0,
						      max, &v)) {
				case NUM_OK:
					break;
				case NUM_SYNTAX:
					return perr(c, num, "%.*s: expected a number (0x.. or decimal), got '%.*s'",
						    (int)n, q,
						    (int)min((size_t)(e - num), (size_t)40),
						    num);
				default:
					return perr(c, num, "%.*s mask %.*s has bits beyond the op's %d page(s) (0..%#llx)",
						    (int)n, q,
						    (int)min((size_t)(e - num), (size_t)40),
						    num, op->npages,
						    (unsigned long long)max);
				}
				if (dec)
					op->decline = (u8)v;
				else
					op->failcopy = (u8)v;
			}
		} else {
			u16 want = 0;

			for (int i = 0, j = 0; i < (int)ARRAY_SIZE(order); i++)
				if ((args & order[i]) && j++ == next)
					want = order[i];
			if (!want)
				return perr(c, q, "too many arguments: %s", sig);
			next++;
			if (want == OPA_PAGE) {
				if (*q != 'p')
					return perr(c, q, "expected a page p0..p%d, got '%.*s'",
						    REGION_PAGES - 1,
						    (int)min((size_t)(e - q), (size_t)40), q);
				switch (num_parse_u64(q + 1, e - q - 1, NUM_DEC,
						      0, REGION_PAGES - 1,
						      &v)) {
				case NUM_OK:
					break;
				case NUM_SYNTAX:
					return perr(c, q, "expected a page p0..p%d, got '%.*s'",
						    REGION_PAGES - 1,
						    (int)min((size_t)(e - q), (size_t)40), q);
				default:
					return perr(c, q, "page %.*s is out of range (p0..p%d)",
						    (int)min((size_t)(e - q), (size_t)40),
						    q, REGION_PAGES - 1);
				}
				op->page = (u8)v;
			} else if (want == OPA_NPAGES) {
				if (get_num(c, q, e - q, 1,
					    REGION_PAGES - op->page, NUM_DEC,
					    "page count", &v))
					return -1;
				op->npages = (u8)v;
			} else if (want == OPA_PROT) {
				int pr = PROT_READ | PROT_WRITE;

				if (!word_is(q, e - q, prot_name(pr)) &&
				    !word_is(q, e - q, prot_name(pr = PROT_READ)))
					return perr(c, q, "unknown protection '%.*s' (PROT_READ, PROT_READ|PROT_WRITE)",
						    (int)min((size_t)(e - q), (size_t)40), q);
				op->prot = (u8)pr;
			} else {
				int a;

				for (a = 0; a < NR_ADVICES; a++)
					if (word_is(q, e - q,
						    advice_name(op_advices[a])))
						break;
				if (a == NR_ADVICES)
					return perr(c, q, "unknown advice '%.*s' (MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT)",
						    (int)min((size_t)(e - q), (size_t)40), q);
				op->advice = (u8)op_advices[a];
			}
		}
		q = end < close ? skip_ws(end + 1) : NULL;
		if (q == close)
			return perr(c, q, "empty argument: %s", sig);
	}
	if (next < npos)
		return perr(c, close, "missing argument: %s", sig);
	if (args & OPA_MEM)
		op->mem = op_mem(op);
	p = skip_ws(close + 1);
	if (*p == '@') {
		q = skip_ws(p + 1);
		n = num_len(q);
		if (get_num(c, q, n, 0, MAX_PROCS - 1, NUM_DEC, "process",
			    &v))
			return -1;
		op->proc = (u8)v;
		p = skip_ws(q + n);
	}
	if (*p)
		return perr(c, p, "unexpected text after the op: '%.*s'",
			    tok_len(p), p);
	return 0;
}

/* Finds " in " between words; NULL if none. */
static const char *find_in(const char *s, const char *end)
{
	for (const char *p = s + 1; p + 3 < end; p++)
		if (is_ws(p[-1]) && p[0] == 'i' && p[1] == 'n' && is_ws(p[2]))
			return p;
	return NULL;
}

static int copy_name(struct pctx *c, char *dst, const char *b, const char *e,
		     const char *what, u16 *col)
{
	while (b < e && is_ws(*b))
		b++;
	while (e > b && is_ws(e[-1]))
		e--;
	if (b == e)
		return perr(c, b, "expected %s", what);
	if (e - b >= SEG_NAME_LEN)
		return perr(c, b, "%s is longer than %d characters", what,
			    SEG_NAME_LEN - 1);
	memcpy(dst, b, e - b);
	dst[e - b] = 0;
	*col = (u16)(b - c->lstart + 1);
	return 0;
}

static int parse_seg(struct pctx *c, const char *s, struct segment *sg,
		     int ncpus)
{
	const char *p = s, *q;
	size_t n = word_len(p);
	u64 v;

	memset(sg, 0, sizeof(*sg));
	sg->line = (u32)c->line;
	if (!word_is(p, n, "run"))
		return perr(c, p, "expected 'run CPU ...' in the schedule (it must be the last section), got '%.*s'",
			    tok_len(p), p);
	p = skip_ws(p + n);
	n = num_len(p);
	if (!n)
		return perr(c, p, "expected a CPU number after 'run'");
	if (num_parse_u64(p, n, NUM_DEC, 0, UINT64_MAX, &v) != NUM_OK)
		return perr(c, p, "expected a CPU number after 'run', got '%.*s'",
			    (int)min(n, (size_t)40), p);
	if (num_parse_u64(p, n, NUM_DEC, 0, ncpus - 1, &v) != NUM_OK)
		return perr(c, p, "CPU %.*s is out of range (0..%d: the file has %d CPU section(s))",
			    (int)min(n, (size_t)40), p, ncpus - 1, ncpus);
	sg->cpu = (u8)v;
	p = skip_ws(p + n);
	n = word_len(p);
	if (word_is(p, n, "to")) {
		q = skip_ws(p + n);
		n = word_len(q);
		if (!word_is(q, n, "end"))
			return perr(c, q, "expected 'to end'");
		sg->kind = SEG_END;
		p = skip_ws(q + n);
	} else if (word_is(p, n, "until")) {
		const char *b = p + n, *end = b + strlen(b), *hash, *in;

		sg->kind = SEG_UNTIL;
		sg->count = 1;
		hash = strchr(b, '#');
		if (hash) {
			/* "#K": the K-th occurrence (other '#' are comments) */
			q = hash + 1;
			n = num_len(q);
			if (get_num(c, q, n, 1, UINT32_MAX, NUM_DEC,
				    "occurrence", &v))
				return -1;
			sg->count = (u32)v;
			if (*skip_ws(q + n))
				return perr(c, skip_ws(q + n), "unexpected text after '#%.*s'",
					    (int)n, q);
			end = hash;
		}
		in = find_in(b, end);
		if (copy_name(c, sg->what, b, in ? in : end,
			      "a point name after 'until'", &sg->what_col))
			return -1;
		if (in && copy_name(c, sg->func, in + 2, end,
				    "a function name after 'in'",
				    &sg->func_col))
			return -1;
		return 0;
	} else if (p[0] >= '0' && p[0] <= '9') {
		n = num_len(p);
		if (get_num(c, p, n, 1, UINT32_MAX, NUM_DEC, "event count",
			    &v))
			return -1;
		sg->kind = SEG_STEPS;
		sg->count = (u32)v;
		p = skip_ws(p + n);
		n = word_len(p);
		if (word_is(p, n, "releases")) {
			sg->kind = SEG_RELEASES;
			p = skip_ws(p + n);
		}
	} else {
		return perr(c, p, "expected N, 'N releases', 'until POINT' or 'to end' after 'run %d'",
			    sg->cpu);
	}
	if (*p == '#')
		return perr(c, p, "'#K' (an occurrence count) only follows 'until POINT'; a comment is '# text'");
	if (*p)
		return perr(c, p, "unexpected text: '%.*s'", tok_len(p), p);
	return 0;
}

enum { H_VARIANT, H_ARCH, H_STRICT, H_REVERT, H_SETUP, H_CPUS, H_SCHEDULE,
       NR_HEADERS };
static const char *const header_names[NR_HEADERS] = {
	"variant", "arch", "strict", "revert", "setup", "cpus", "schedule:",
};

static int parse_revert(struct pctx *c, const char *s, struct repro *r)
{
	const char *tok = s;

	if (!*s)
		return perr(c, s, "expected fix names after 'revert' (see 'migrace fixes'; or all, none)");
	if (!fixes_parse(s, &r->settings.reverted))
		return 0;
	/* Find the name that is wrong, for the column. */
	for (;;) {
		size_t len = strcspn(tok, ",");
		char one[64];
		unsigned long m;

		snprintf(one, sizeof(one), "%.*s", (int)min(len, sizeof(one) - 1),
			 tok);
		if (len >= sizeof(one) || fixes_parse(one, &m) ||
		    ((!strcmp(one, "all") || !strcmp(one, "none")) &&
		     tok != s))
			return perr(c, tok, "unknown fix '%.*s' (see 'migrace fixes'; 'all' or 'none' stand alone)",
				    (int)min(len, (size_t)40), tok);
		if (!tok[len])
			break;
		tok += len + 1;
	}
	return perr(c, s, "bad fix list '%.*s'", tok_len(s), s);
}

static int parse_header(struct pctx *c, const char *s, size_t n, int h,
			struct repro *r, int *cpus_given)
{
	const char *p = skip_ws(s + n), *q;
	size_t m;
	u64 v;

	switch (h) {
	case H_VARIANT:
	case H_ARCH:
		m = word_len(p);
		if (h == H_VARIANT && word_is(p, m, "upstream"))
			r->settings.variant = VARIANT_UPSTREAM;
		else if (h == H_VARIANT && word_is(p, m, "rfc-unified"))
			r->settings.variant = VARIANT_RFC_UNIFIED;
		else if (h == H_ARCH && word_is(p, m, "x86"))
			r->settings.arch = ARCH_X86;
		else if (h == H_ARCH && word_is(p, m, "vivt"))
			r->settings.arch = ARCH_VIVT;
		else
			return perr(c, p, "unknown %s '%.*s' (%s)",
				    header_names[h], tok_len(p), p,
				    h == H_VARIANT ? "upstream, rfc-unified" :
						     "x86, vivt");
		p = skip_ws(p + m);
		break;
	case H_STRICT:
		r->settings.strict = true;
		break;
	case H_REVERT:
		return parse_revert(c, p, r);
	case H_SETUP:
		for (; *p; p = skip_ws(p + m)) {
			bool *flag;

			m = word_len(p);
			if (word_is(p, m, "populate"))
				flag = &r->prog.populate;
			else if (word_is(p, m, "fork"))
				flag = &r->prog.forked;
			else if (word_is(p, m, "warm"))
				flag = &r->prog.warm;
			else if (word_is(p, m, "swapped"))
				flag = &r->prog.swapped;
			else
				return perr(c, p, "unknown set-up '%.*s' (populate, fork, warm, swapped)",
					    tok_len(p), p);
			if (*flag)
				return perr(c, p, "set-up '%.*s' given twice",
					    (int)m, p);
			*flag = true;
		}
		break;
	case H_CPUS:
		q = p;
		m = num_len(q);
		if (get_num(c, q, m, 1, NR_CPUS, NUM_DEC, "cpus", &v))
			return -1;
		*cpus_given = (int)v;
		p = skip_ws(q + m);
		break;
	}
	if (*p)
		return perr(c, p, "unexpected text after '%s': '%.*s'",
			    header_names[h], tok_len(p), p);
	return 0;
}

/* Byte-level checks first: what no line parser should have to see. */
static int check_bytes(struct pctx *c, const char *text, size_t len)
{
	const char *ls = text;
	int line = 1;

	if (len > REPRO_MAX_BYTES)
		return perr_at(c, 1, 1, "larger than %d bytes: not a repro file",
			       REPRO_MAX_BYTES);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		return perr_at(c, 1, 1, "byte-order mark (save the file as plain text without a BOM)");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		int col = (int)(text + i - ls) + 1;

		if (ch == '\n') {
			line++;
			ls = text + i + 1;
		} else if (col > MAX_LINE) {
			return perr_at(c, line, 1, "line longer than %d characters",
				       MAX_LINE);
		} else if (ch == 0) {
			return perr_at(c, line, col, "NUL byte (not a text file?)");
		} else if (ch == '\r' && (i + 1 == len || text[i + 1] != '\n')) {
			return perr_at(c, line, col, "carriage return without a line feed (CR-only line endings are not supported)");
		} else if (ch < 0x20 && ch != '\t' && ch != '\r') {
			return perr_at(c, line, col, "control character 0x%02x",
				       ch);
		} else if (ch == 0x7f) {
			return perr_at(c, line, col, "control character 0x7f");
		}
	}
	return 0;
}

int repro_parse_buf(const char *text, size_t len, const char *name,
		    struct repro *r, char *err, size_t elen)
{
	struct pctx c = { .name = name, .err = err, .elen = elen };
	struct slot_ref sref[NR_CPUS][MAX_OPS];
	int seen[NR_HEADERS] = { 0 }, cpus_given = 0, cpu = -1;
	bool in_sched = false;
	char buf[MAX_LINE + 2];
	const char *ls = text, *end = text + len;

	memset(r, 0, sizeof(*r));
	memset(sref, 0, sizeof(sref));
	if (check_bytes(&c, text, len))
		return -1;
	for (c.line = 1; ls < end; c.line++) {
		const char *nl = memchr(ls, '\n', end - ls);
		size_t n = (nl ? nl : end) - ls;
		char *s, *hash, *e;
		size_t w;
		int h;

		memcpy(buf, ls, n);
		buf[n] = 0;
		ls = nl ? nl + 1 : end;
		c.lstart = buf;
		/*
		 * '#' starts a comment, except "#K" (a digit follows) on a
		 * schedule line, which is the occurrence count of 'until'.
		 */
		for (hash = strchr(buf, '#'); hash; hash = strchr(hash + 1, '#'))
			if (!in_sched || !(hash[1] >= '0' && hash[1] <= '9')) {
				*hash = 0;
				break;
			}
		e = buf + strlen(buf);
		while (e > buf && (is_ws(e[-1]) || e[-1] == '\r'))
			*--e = 0;
		s = (char *)skip_ws(buf);
		if (!*s)
			continue;
		if (in_sched) {
			if (!strncmp(s, "schedule:", 9))
				return perr(&c, s, "duplicate 'schedule:' (first on line %d)",
					    seen[H_SCHEDULE]);
			if (r->sched.nseg == MAX_SEGS)
				return perr(&c, s, "more than %d schedule segments",
					    MAX_SEGS);
			if (parse_seg(&c, s, &r->sched.seg[r->sched.nseg],
				      r->prog.ncpus))
				return -1;
			r->sched.nseg++;
			continue;
		}
		w = word_len(s);
		for (h = 0; h < NR_HEADERS; h++)
			if (word_is(s, w + (s[w] == ':'), header_names[h]))
				break;
		if (h < NR_HEADERS) {
			if (seen[h])
				return perr(&c, s, "duplicate '%s' (first on line %d)",
					    header_names[h], seen[h]);
			seen[h] = c.line;
			if (h == H_SCHEDULE) {
				if (*skip_ws(s + w + 1))
					return perr(&c, skip_ws(s + w + 1), "text after 'schedule:'; put each segment on its own line");
				if (r->prog.ncpus < 1)
					return perr(&c, s, "'schedule:' before any 'cpu N:' section");
				in_sched = true;
				continue;
			}
			if (parse_header(&c, s, w, h, r, &cpus_given))
				return -1;
			continue;
		}
		if (word_is(s, w, "cpu")) {
			const char *p = skip_ws(s + w), *colon;
			size_t m = num_len(p);
			u64 v;

			if (!m)
				return perr(&c, p, "expected 'cpu N:'");
			if (num_parse_u64(p, m, NUM_DEC, 0, NR_CPUS - 1, &v))
				return perr(&c, p, "CPU '%.*s' is out of range (0..%d)",
					    (int)min(m, (size_t)40), p,
					    NR_CPUS - 1);
			if ((int)v != r->prog.ncpus)
				return perr(&c, p, "expected 'cpu %d:' here: cpu sections are 0, 1, ... in order, once each",
					    r->prog.ncpus);
			colon = skip_ws(p + m);
			if (*colon != ':')
				return perr(&c, colon, "expected ':' after 'cpu %d'",
					    (int)v);
			if (*skip_ws(colon + 1))
				return perr(&c, skip_ws(colon + 1), "text after 'cpu %d:'; put each op on its own line",
					    (int)v);
			cpu = (int)v;
			r->prog.ncpus = cpu + 1;
			continue;
		}
		if (cpu < 0) {
			if (w && op_kind_by_name(s, w) >= 0)
				return perr(&c, s, "op before any 'cpu N:' section");
			return perr(&c, s, "unknown keyword '%.*s' (variant, arch, strict, revert, setup, cpus, cpu N:, schedule:)",
				    tok_len(s), s);
		}
		if (r->prog.nops[cpu] == MAX_OPS)
			return perr(&c, s, "cpu %d has more than %d ops", cpu,
				    MAX_OPS);
		if (parse_op(&c, s, &r->prog.ops[cpu][r->prog.nops[cpu]],
			     &sref[cpu][r->prog.nops[cpu]]))
			return -1;
		r->prog.nops[cpu]++;
	}
	if (r->prog.ncpus < 1)
		return perr_at(&c, c.line > 1 ? c.line - 1 : 1, 1,
			       "no 'cpu 0:' section");
	if (cpus_given && cpus_given != r->prog.ncpus)
		return perr_at(&c, seen[H_CPUS], 1,
			       "'cpus %d' but the file has %d cpu section(s)",
			       cpus_given, r->prog.ncpus);
	for (int cp = 0; cp < r->prog.ncpus; cp++)
		for (int i = 0; i < r->prog.nops[cp]; i++) {
			const struct op *op = &r->prog.ops[cp][i];

			if (op->slot < NR_CPUS && op->slot >= r->prog.ncpus)
				return perr_at(&c, sref[cp][i].line,
					       sref[cp][i].col,
					       "slot %d is out of range (0..%d: the file has %d CPU section(s))",
					       op->slot, r->prog.ncpus - 1,
					       r->prog.ncpus);
		}
	return 0;
}

int repro_parse(const char *text, struct repro *r, char *err, size_t elen)
{
	return repro_parse_buf(text, strlen(text), "repro", r, err, elen);
}

int repro_read_file(const char *path, size_t max, char **out, size_t *len,
		    char *err, size_t elen)
{
	bool std_in = !strcmp(path, "-");
	const char *name = std_in ? "<stdin>" : path;
	struct stat st;
	size_t cap = 4096, n = 0;
	char *text;
	FILE *f;

	/*
	 * Only regular files (and standard input): a FIFO would block the
	 * open, a device could be endless, a directory has no text.
	 */
	if (!std_in) {
		if (stat(path, &st)) {
			snprintf(err, elen, "%s: %s", name, strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, elen, "%s: is a directory, not a file",
				 name);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, elen, "%s: not a regular file (%s); pipe it in with '- < %s'",
				 name, S_ISFIFO(st.st_mode) ? "a FIFO" :
				 S_ISCHR(st.st_mode) ? "a character device" :
				 S_ISSOCK(st.st_mode) ? "a socket" :
				 "a special file", name);
			return -1;
		}
	}
	f = std_in ? stdin : fopen(path, "rb");
	if (!f) {
		snprintf(err, elen, "%s: %s", name, strerror(errno));
		return -1;
	}
	text = malloc(cap);
	for (;;) {
		size_t got;

		if (!text) {
			snprintf(err, elen, "%s: out of memory", name);
			break;
		}
		if (n + 1 >= cap) {
			char *bigger = cap > max ? NULL : realloc(text, cap * 2);

			if (!bigger) {
				snprintf(err, elen, "%s: larger than %zu bytes",
					 name, max);
				free(text);
				text = NULL;
				break;
			}
			text = bigger;
			cap *= 2;
		}
		got = fread(text + n, 1, cap - 1 - n, f);
		n += got;
		if (got)
			continue;
		if (ferror(f)) {
			snprintf(err, elen, "%s: read error: %s", name,
				 strerror(errno));
			free(text);
			text = NULL;
		}
		break;
	}
	if (!std_in)
		fclose(f);
	if (!text)
		return -1;
	if (n > max) {
		snprintf(err, elen, "%s: larger than %zu bytes", name, max);
		free(text);
		return -1;
	}
	text[n] = 0;
	*out = text;
	*len = n;
	return 0;
}

int repro_load(const char *path, struct repro *r, char *err, size_t elen)
{
	char *text;
	size_t n;
	int ret;

	if (repro_read_file(path, REPRO_MAX_BYTES, &text, &n, err, elen))
		return -1;
	ret = repro_parse_buf(text, n, strcmp(path, "-") ? path : "<stdin>",
			      r, err, elen);
	free(text);
	return ret;
}

void repro_print(FILE *f, const struct repro *r)
{
	char fixes[512], op[96];

	fprintf(f, "# migrace repro (replay: migrace repro FILE)\n");
	if (r->title[0])
		fprintf(f, "# BUG: migrace: %s\n", r->title);
	if (r->has_hash)
		fprintf(f, "# trace %#018llx\n", (unsigned long long)r->trace_hash);
	fixes_format(r->settings.reverted, fixes, sizeof(fixes));
	fprintf(f, "variant %s\n", r->settings.variant == VARIANT_RFC_UNIFIED ?
					   "rfc-unified" : "upstream");
	fprintf(f, "arch %s\n", r->settings.arch == ARCH_VIVT ? "vivt" : "x86");
	if (r->settings.strict)
		fprintf(f, "strict\n");
	fprintf(f, "revert %s\n", fixes);
	fprintf(f, "setup%s%s%s%s\n", r->prog.populate ? " populate" : "",
		r->prog.forked ? " fork" : "", r->prog.warm ? " warm" : "",
		r->prog.swapped ? " swapped" : "");
	for (int c = 0; c < r->prog.ncpus; c++) {
		fprintf(f, "\ncpu %d:\n", c);
		for (int i = 0; i < r->prog.nops[c]; i++) {
			op_format(&r->prog.ops[c][i], op, sizeof(op));
			fprintf(f, "    %s\n", op);
		}
	}
	fprintf(f, "\nschedule:\n");
	for (int i = 0; i < r->sched.nseg; i++) {
		const struct segment *sg = &r->sched.seg[i];

		if (sg->kind == SEG_STEPS)
			fprintf(f, "    run %d %u\n", sg->cpu, sg->count);
		else if (sg->kind == SEG_END)
			fprintf(f, "    run %d to end\n", sg->cpu);
		else if (sg->kind == SEG_RELEASES)
			fprintf(f, "    run %d %u releases\n", sg->cpu, sg->count);
		else
			fprintf(f, "    run %d until %s%s%s #%u\n", sg->cpu,
				sg->what, sg->func[0] ? " in " : "", sg->func,
				sg->count);
	}
}

int repro_save(const char *path, const struct repro *r)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -1;
	repro_print(f, r);
	/* A full disk shows at the flush or the close, not at fprintf. */
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	else
		err = 0;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (err) {
		struct stat st;

		/*
		 * Never leave half a repro behind; but only a regular file
		 * is ours to remove (-o /dev/full must stay a device).
		 */
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			remove(path);
		errno = err;
		return -1;
	}
	return 0;
}

/* A slot as printed: a CPU's, the device's, or the reader's own. */
static u8 slot_norm(u8 slot)
{
	return slot < NR_CPUS || slot == DEV_SLOT ? slot : NR_CPUS;
}

static bool op_equal(const struct op *a, const struct op *b)
{
	u16 args;

	if (a->kind != b->kind || a->proc != b->proc)
		return false;
	if (a->kind >= NR_OP_KINDS)
		return false;
	args = op_sigs[a->kind].args;
	if ((args & OPA_PAGE) && a->page != b->page)
		return false;
	if ((args & OPA_NPAGES) && a->npages != b->npages)
		return false;
	if ((args & OPA_ADVICE) && a->advice != b->advice)
		return false;
	if ((args & OPA_SLOT) && slot_norm(a->slot) != slot_norm(b->slot))
		return false;
	if ((args & OPA_PINFLAGS) && a->flags != b->flags)
		return false;
	if ((args & OPA_MASKS) &&
	    (a->decline != b->decline || a->failcopy != b->failcopy))
		return false;
	if ((args & OPA_SPARE) && a->spare != b->spare)
		return false;
	if ((args & OPA_MEM) && op_mem(a) != op_mem(b))
		return false;
	if ((args & OPA_NODE) && a->node != b->node)
		return false;
	if ((args & (OPA_MOVEALL | OPA_FAULT)) && a->flags != b->flags)
		return false;
	if ((args & OPA_PROT) && a->prot != b->prot)
		return false;
	return true;
}

static bool seg_equal(const struct segment *a, const struct segment *b)
{
	if (a->cpu != b->cpu || a->kind != b->kind)
		return false;
	if (a->kind == SEG_END)
		return true;
	if (a->count != b->count)
		return false;
	return a->kind != SEG_UNTIL ||
	       (!strcmp(a->what, b->what) && !strcmp(a->func, b->func));
}

bool repro_equal(const struct repro *a, const struct repro *b)
{
	const struct program *p = &a->prog, *q = &b->prog;

	if (a->settings.reverted != b->settings.reverted ||
	    a->settings.variant != b->settings.variant ||
	    a->settings.arch != b->settings.arch ||
	    a->settings.strict != b->settings.strict)
		return false;
	if (p->ncpus != q->ncpus || p->populate != q->populate ||
	    p->forked != q->forked || p->warm != q->warm ||
	    p->swapped != q->swapped)
		return false;
	for (int c = 0; c < p->ncpus; c++) {
		if (p->nops[c] != q->nops[c])
			return false;
		for (int i = 0; i < p->nops[c]; i++)
			if (!op_equal(&p->ops[c][i], &q->ops[c][i]))
				return false;
	}
	if (a->sched.nseg != b->sched.nseg)
		return false;
	for (int i = 0; i < a->sched.nseg; i++)
		if (!seg_equal(&a->sched.seg[i], &b->sched.seg[i]))
			return false;
	return true;
}

/* ---- named points ---- */

static bool in_list(const char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static bool point_known(const char *what)
{
	size_t n = strcspn(what, "(");

	if (in_list(point_names, nr_point_names, what))
		return true;
	/* op boundaries: "return madvise", and the op's own text */
	if (!strncmp(what, "return ", 7) && op_kind_by_name(what + 7,
							    strlen(what + 7)) >= 0)
		return true;
	return what[n] == '(' && op_kind_by_name(what, n) >= 0;
}

static void consider(const char *cand, const char *s, const char **best,
		     int *bestd)
{
	int d = num_edit_distance(cand, s);

	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

static const char *suggest(const char *s, bool func)
{
	static char ret_name[SEG_NAME_LEN];
	const char *best = NULL;
	int bestd = 1000;

	for (int i = 0; i < nr_point_names; i++)
		consider(point_names[i], s, &best, &bestd);
	if (func) {
		for (int i = 0; i < nr_point_funcs; i++)
			consider(point_funcs[i], s, &best, &bestd);
	} else {
		for (int k = 0; k < NR_OP_KINDS; k++) {
			char buf[SEG_NAME_LEN];

			snprintf(buf, sizeof(buf), "return %s", op_name(k));
			if (num_edit_distance(buf, s) < bestd) {
				memcpy(ret_name, buf, sizeof(buf));
				consider(ret_name, s, &best, &bestd);
			}
		}
	}
	/* Near misses only: a far "suggestion" misleads. */
	return bestd <= max(2, (int)strlen(s) / 4) ? best : NULL;
}

int repro_check_points(const struct repro *r, const char *name, char *err,
		       size_t elen)
{
	for (int i = 0; i < r->sched.nseg; i++) {
		const struct segment *sg = &r->sched.seg[i];
		const char *bad = NULL, *hint;
		bool func = false;

		if (sg->kind != SEG_UNTIL)
			continue;
		if (!point_known(sg->what)) {
			bad = sg->what;
		} else if (sg->func[0] &&
			   !in_list(point_funcs, nr_point_funcs, sg->func) &&
			   !in_list(point_names, nr_point_names, sg->func)) {
			bad = sg->func;
			func = true;
		}
		if (!bad)
			continue;
		hint = suggest(bad, func);
		snprintf(err, elen, "%s:%u:%u: unknown %s '%s' (%s%s%s'migrace repro FILE --trace' lists the points of a run)",
			 name, sg->line, func ? sg->func_col : sg->what_col,
			 func ? "function" : "point", bad,
			 hint ? "did you mean '" : "", hint ? hint : "",
			 hint ? "'? " : "");
		return -1;
	}
	return 0;
}

/* A file name from a report title: lower case, dashes, up to ':' or '('. */
void repro_slug(const char *title, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; title[i] && j + 1 < len && j < 40; i++) {
		char c = title[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[j++] = c;
		else if (c >= 'A' && c <= 'Z')
			out[j++] = (char)(c - 'A' + 'a');
		else if (j && out[j - 1] != '-')
			out[j++] = '-';
		if (c == ':' || c == '(')
			break;
	}
	while (j && out[j - 1] == '-')
		j--;
	out[j] = 0;
}
