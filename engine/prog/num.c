/*
 * Strict numbers (see include/migrace/num.h).  strtoul() and atoi() accept
 * signs, spaces and trailing junk and wrap on overflow; a repro file or an
 * option that is wrong must be rejected, never reinterpreted.
 */
#include <stdlib.h>

#include <migrace/num.h>

static int digit_value(char c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

enum num_status num_parse_u64(const char *s, size_t len, int bases, u64 min,
			      u64 max, u64 *out)
{
	int base = 10;
	bool overflow = false;
	u64 v = 0;
	size_t i = 0;

	if (len == (size_t)-1)
		len = strlen(s);
	if ((bases & NUM_HEX) && len > 2 && s[0] == '0' &&
	    (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (!(bases & NUM_DEC)) {
		return NUM_SYNTAX;
	}
	if (i == len)
		return NUM_SYNTAX;
	for (; i < len; i++) {
		int d = digit_value(s[i], base);

		if (d < 0)
			return NUM_SYNTAX;
		if (v > (UINT64_MAX - (u64)d) / (u64)base)
			overflow = true;
		else
			v = v * (u64)base + (u64)d;
	}
	if (overflow || v < min || v > max)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

enum num_status num_parse_seconds(const char *s, double max, double *out)
{
	double v = 0, scale = 1;
	size_t i = 0, nint = 0, nfrac = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++, nint++)
		if (nint < 12)
			v = v * 10 + (s[i] - '0');
	if (nint >= 12)
		return NUM_RANGE;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nfrac++) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		}
		if (!nfrac || nfrac > 9)
			return NUM_SYNTAX;
	}
	if (!nint || s[i])
		return NUM_SYNTAX;
	if (v <= 0 || v > max)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

int num_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64];

	/* Names are short; a long pair is simply "far". */
	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			best = min(best, up + 1);
			best = min(best, row[j - 1] + 1);
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}
