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
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int fail(char *err, size_t len, int line, const char *msg,
		const char *what)
{
	snprintf(err, len, "line %d: %s%s%s", line, msg, what ? ": " : "",
		 what ? what : "");
	return -1;
}

static int parse_op(char *s, struct op *op, char *err, size_t elen, int line)
{
	char name[32], *args, *close, *at;
	int k, a[3] = { 0, 0, 0 }, na = 0;

	memset(op, 0, sizeof(*op));
	op->slot = NR_CPUS;
	op->npages = 1;
	at = strchr(s, '@');
	if (at) {
		op->proc = (u8)atoi(at + 1);
		if (op->proc >= MAX_PROCS)
			return fail(err, elen, line, "bad process", at);
		*at = 0;
	}
	args = strchr(s, '(');
	close = strrchr(s, ')');
	if (!args || !close || close < args)
		return fail(err, elen, line, "expected op(args)", s);
	*args++ = 0;
	*close = 0;
	snprintf(name, sizeof(name), "%s", trim(s));
	for (k = 0; k < NR_OP_KINDS; k++)
		if (!strcmp(name, op_name(k)))
			break;
	if (k == NR_OP_KINDS)
		return fail(err, elen, line, "unknown op", name);
	op->kind = k;
	for (char *tok = strtok(args, ","); tok; tok = strtok(NULL, ",")) {
		tok = trim(tok);
		if (!*tok)
			continue;
		if (tok[0] == 'p' && isdigit((unsigned char)tok[1]))
			a[na++] = atoi(tok + 1);
		else if (!strncmp(tok, "slot", 4))
			op->slot = (u8)atoi(tok + 4);
		else if (!strncmp(tok, "MADV_", 5)) {
			int a;

			for (a = 0; a < NR_ADVICES; a++)
				if (!strcmp(tok, advice_name(op_advices[a])))
					break;
			if (a == NR_ADVICES)
				return fail(err, elen, line, "unknown advice",
					    tok);
			op->advice = (u8)op_advices[a];
		} else if (!strncmp(tok, "decline", 7))
			op->decline = (u8)strtoul(tok + 7, NULL, 0);
		else if (!strncmp(tok, "failcopy", 8))
			op->failcopy = (u8)strtoul(tok + 8, NULL, 0);
		else if (isdigit((unsigned char)tok[0]))
			a[na++] = atoi(tok);
		else
			return fail(err, elen, line, "bad argument", tok);
		if (na == 3)
			break;
	}
	if (k == OP_MADVISE && !op->advice)
		return fail(err, elen, line, "madvise needs an advice", name);
	if (k != OP_FORK && k != OP_RECLAIM) {
		if (na < 1 || a[0] >= REGION_PAGES)
			return fail(err, elen, line, "bad page", name);
		op->page = (u8)a[0];
		if (k != OP_READ && k != OP_WRITE) {
			if (na < 2 || a[1] < 1 || a[0] + a[1] > REGION_PAGES)
				return fail(err, elen, line, "bad page count",
					    name);
			op->npages = (u8)a[1];
		}
	}
	if (op->slot != NR_CPUS && op->slot >= NR_CPUS)
		return fail(err, elen, line, "bad slot", name);
	return 0;
}

static int parse_seg(char *s, struct segment *sg, int ncpus, char *err,
		     size_t elen, int line)
{
	char *p;

	memset(sg, 0, sizeof(*sg));
	if (strncmp(s, "run ", 4))
		return fail(err, elen, line, "expected 'run CPU ...'", s);
	s = trim(s + 4);
	if (!isdigit((unsigned char)*s))
		return fail(err, elen, line, "expected a CPU number", s);
	sg->cpu = (u8)strtoul(s, &p, 10);
	if (sg->cpu >= ncpus)
		return fail(err, elen, line, "no such CPU", s);
	s = trim(p);
	if (!strcmp(s, "to end")) {
		sg->kind = SEG_END;
	} else if (!strncmp(s, "until ", 6)) {
		char *in, *hash;

		s = trim(s + 6);
		sg->kind = SEG_UNTIL;
		sg->count = 1;
		hash = strrchr(s, '#');
		if (hash) {
			sg->count = (u32)atoi(hash + 1);
			*hash = 0;
		}
		in = strstr(s, " in ");
		if (in) {
			*in = 0;
			snprintf(sg->func, sizeof(sg->func), "%s", trim(in + 4));
		}
		snprintf(sg->what, sizeof(sg->what), "%s", trim(s));
		if (!sg->what[0] || !sg->count)
			return fail(err, elen, line, "bad 'until'", NULL);
	} else if (isdigit((unsigned char)*s)) {
		sg->kind = SEG_STEPS;
		sg->count = (u32)strtoul(s, &p, 10);
		p = trim(p);
		if (!strcmp(p, "releases"))
			sg->kind = SEG_RELEASES;
		else if (*p)
			return fail(err, elen, line, "expected 'releases'", p);
	} else {
		return fail(err, elen, line, "expected N, 'until ...' or 'to end'",
			    s);
	}
	return 0;
}

int repro_parse(const char *text, struct repro *r, char *err, size_t elen)
{
	char *buf = strdup(text), *save, *raw;
	int line = 0, cpu = -1, ret = 0;
	bool in_sched = false;

	memset(r, 0, sizeof(*r));
	r->prog.ncpus = 0;
	for (raw = strtok_r(buf, "\n", &save); raw && !ret;
	     raw = strtok_r(NULL, "\n", &save)) {
		char *s;

		line++;
		if ((s = strchr(raw, '#')) && !(in_sched && strstr(raw, "run ")))
			*s = 0;
		s = trim(raw);
		if (!*s)
			continue;
		if (in_sched) {
			if (r->sched.nseg == MAX_SEGS) {
				ret = fail(err, elen, line, "too many segments",
					   NULL);
				break;
			}
			ret = parse_seg(s, &r->sched.seg[r->sched.nseg++],
					r->prog.ncpus, err, elen, line);
		} else if (!strncmp(s, "variant ", 8)) {
			s = trim(s + 8);
			if (!strcmp(s, "upstream"))
				r->settings.variant = VARIANT_UPSTREAM;
			else if (!strcmp(s, "rfc-unified"))
				r->settings.variant = VARIANT_RFC_UNIFIED;
			else
				ret = fail(err, elen, line, "unknown variant", s);
		} else if (!strncmp(s, "arch ", 5)) {
			s = trim(s + 5);
			if (!strcmp(s, "x86"))
				r->settings.arch = ARCH_X86;
			else if (!strcmp(s, "vivt"))
				r->settings.arch = ARCH_VIVT;
			else
				ret = fail(err, elen, line, "unknown arch", s);
		} else if (!strncmp(s, "strict", 6)) {
			r->settings.strict = !strstr(s, "no");
		} else if (!strncmp(s, "revert ", 7)) {
			if (fixes_parse(trim(s + 7), &r->settings.reverted))
				ret = fail(err, elen, line, "unknown fix", s + 7);
		} else if (!strncmp(s, "setup", 5)) {
			r->prog.populate = strstr(s, "populate") != NULL;
			r->prog.forked = strstr(s, "fork") != NULL;
			r->prog.warm = strstr(s, "warm") != NULL;
			r->prog.swapped = strstr(s, "swapped") != NULL;
		} else if (!strncmp(s, "cpus ", 5)) {
			/* informational: the cpu sections decide */
		} else if (!strncmp(s, "cpu ", 4)) {
			cpu = atoi(s + 4);
			if (cpu < 0 || cpu >= NR_CPUS || cpu != r->prog.ncpus)
				ret = fail(err, elen, line,
					   "cpu sections must be 0, 1, ... in order",
					   s);
			else
				r->prog.ncpus = cpu + 1;
		} else if (!strcmp(s, "schedule:")) {
			in_sched = true;
		} else if (cpu >= 0 && strchr(s, '(')) {
			if (r->prog.nops[cpu] == MAX_OPS)
				ret = fail(err, elen, line, "too many ops", s);
			else
				ret = parse_op(s,
					       &r->prog.ops[cpu][r->prog.nops[cpu]++],
					       err, elen, line);
		} else {
			ret = fail(err, elen, line, "cannot parse", s);
		}
	}
	free(buf);
	if (!ret && r->prog.ncpus < 1)
		ret = fail(err, elen, line, "no 'cpu 0:' section", NULL);
	return ret;
}

int repro_load(const char *path, struct repro *r, char *err, size_t elen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;
	int ret;

	if (!f) {
		snprintf(err, elen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(text);
		snprintf(err, elen, "%s: read error", path);
		return -1;
	}
	fclose(f);
	ret = repro_parse(text, r, err, elen);
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

	if (!f)
		return -1;
	repro_print(f, r);
	return fclose(f);
}
