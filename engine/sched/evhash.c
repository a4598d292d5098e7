// SPDX-License-Identifier: GPL-2.0
/*
 * The trace hash of one event, FNV-1a over its bytes (the CPU and kind as
 * a u64, the name's characters, the address and the value as u64s), the
 * same value byte by byte as ev_hash_ref() but without its chain of one
 * multiply per byte, which was most of an execution's time.  Harness
 * only: nothing here decides what runs.
 *
 * Two exact shortcuts, both from how one FNV-1a step h' = (h ^ b) * P
 * works modulo 2^64:
 *  - a zero byte is a bare multiply, so the high zero bytes of a u64 are
 *    one multiply by a power of P;
 *  - the XOR only touches h's low byte l: h ^ b = h + ((l ^ b) - l), so
 *    h' = h * P + ((l ^ b) - l) * P, and the low byte of h' depends on l
 *    alone.  Over a whole string s of n bytes, hash(h, s) = h * P^n +
 *    C_s[l]: a table of 256 values per string, built once.  Only names in
 *    the program's read-only data get one (their text never changes);
 *    names built at run time (an op's label) are hashed byte by byte.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <stdlib.h>

#include "evhash.h"

#define FNV_PRIME 0x100000001b3ULL

/* No coverage of its own in the fuzz targets: a pure function. */
#if defined(__clang__)
#define EVHASH_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define EVHASH_NOCOV
#endif

EVHASH_NOCOV static u64 fnv_str(u64 h, const char *s, unsigned int *len)
{
	unsigned int n = 0;

	for (; s && *s; s++, n++)
		h = (h ^ (u8)*s) * FNV_PRIME;
	if (len)
		*len = n;
	return h;
}

EVHASH_NOCOV static u64 fnv_u64(u64 h, u64 v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * FNV_PRIME;
	return h;
}

EVHASH_NOCOV u64 ev_hash_ref(u64 h, int cpu, int kind, const char *what,
			     unsigned long addr, u64 val)
{
	h = fnv_u64(h, (u64)cpu << 8 | (u64)kind);
	h = fnv_str(h, what, NULL);
	h = fnv_u64(h, addr);
	return fnv_u64(h, val);
}

/* P^0 .. P^8 */
static const u64 fnv_pow[9] = {
	1ULL,
	FNV_PRIME,
	FNV_PRIME * FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME *
		FNV_PRIME,
	FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME *
		FNV_PRIME * FNV_PRIME,
};

/* The significant bytes one by one, the high zero bytes in one multiply. */
EVHASH_NOCOV static inline u64 fast_u64(u64 h, u64 v)
{
	int n = v ? 8 - (__builtin_clzll(v) >> 3) : 0;

	for (int i = 0; i < n; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * FNV_PRIME;
	return h * fnv_pow[8 - n];
}

/* ---- names in read-only data ---- */

struct name_tab {
	const char *s;
	u64 pn;			/* P^len */
	u64 add[256];		/* C_s[l] */
};

#define NAME_SLOTS 2048		/* a power of two, above the names there are */
static struct name_tab *names[NAME_SLOTS];
static unsigned int nnames;

#define MAX_RO 8
static struct {
	uintptr_t lo, hi;
} ro[MAX_RO];
static int nro = -1;		/* not looked up yet */

static int ro_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* The first object is the program, where the engine's names are. */
	for (int i = 0; i < info->dlpi_phnum && nro < MAX_RO; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		ro[nro].lo = info->dlpi_addr + ph->p_vaddr;
		ro[nro].hi = ro[nro].lo + ph->p_memsz;
		nro++;
	}
	return 1;
}

static bool read_only(const char *s)
{
	uintptr_t p = (uintptr_t)s;

	if (nro < 0) {
		nro = 0;
		dl_iterate_phdr(ro_segment, NULL);
	}
	for (int i = 0; i < nro; i++)
		if (p >= ro[i].lo && p < ro[i].hi)
			return true;
	return false;
}

EVHASH_NOCOV static struct name_tab *name_build(const char *s)
{
	struct name_tab *t = malloc(sizeof(*t));
	unsigned int len;

	if (!t)
		return NULL;
	t->s = s;
	fnv_str(0, s, &len);
	t->pn = 1;
	for (unsigned int i = 0; i < len; i++)
		t->pn *= FNV_PRIME;
	for (unsigned int l = 0; l < 256; l++)
		t->add[l] = fnv_str(l, s, NULL) - (u64)l * t->pn;
	return t;
}

EVHASH_NOCOV static struct name_tab *name_lookup(const char *s)
{
	uintptr_t p = (uintptr_t)s;
	unsigned int i = (unsigned int)((p * 0x9e3779b97f4a7c15ULL) >> 40);

	for (unsigned int probe = 0; probe < 16; probe++) {
		struct name_tab **slot = &names[(i + probe) & (NAME_SLOTS - 1)];

		if (*slot && (*slot)->s == s)
			return *slot;
		if (!*slot) {
			if (nnames >= NAME_SLOTS / 2 || !read_only(s))
				return NULL;
			*slot = name_build(s);
			nnames += *slot != NULL;
			return *slot;
		}
	}
	return NULL;
}

EVHASH_NOCOV u64 ev_hash(u64 h, int cpu, int kind, const char *what,
			 unsigned long addr, u64 val)
{
	struct name_tab *t = what ? name_lookup(what) : NULL;

	h = fast_u64(h, (u64)cpu << 8 | (u64)kind);
	if (t)
		h = h * t->pn + t->add[h & 0xff];
	else
		h = fnv_str(h, what, NULL);
	h = fast_u64(h, addr);
	return fast_u64(h, val);
}

/*
 * The point id of an event for the fuzzers' interleaving coverage:
 * FNV-1a of its name then its function, cut to 32 bits.  Remembered per
 * pair of read-only strings (two per event and per switch in the fuzz
 * targets: it was their hottest loop).
 */
#define ID_SLOTS 4096
static struct {
	const char *what, *func;
	u32 id;
} ids[ID_SLOTS];

EVHASH_NOCOV u32 ev_point_id(const char *what, const char *func)
{
	uintptr_t key = (uintptr_t)what * 0x9e3779b97f4a7c15ULL ^
			(uintptr_t)func * 0xc2b2ae3d27d4eb4fULL;
	unsigned int i = (unsigned int)(key >> 52) & (ID_SLOTS - 1);
	u32 id;

	if (ids[i].what == what && ids[i].func == func && what)
		return ids[i].id;
	id = (u32)fnv_str(fnv_str(0xcbf29ce484222325ULL, what, NULL), func,
			  NULL);
	if (what && func && read_only(what) && read_only(func)) {
		ids[i].what = what;
		ids[i].func = func;
		ids[i].id = id;
	}
	return id;
}
