/* Fitting a picture in its cell without rescaling it when it almost has
 * the cell's size (see compositor.h). */
#include "compositor/compositor_int.h"

enum { FIT_NO = 0, FIT_CLOSE, FIT_SMALLER };

/* One direction: a picture of length p in a cell of length c. Sets the
 * crop at the start and the end, and where the picture lands in the cell
 * (offset, length). FIT_CLOSE when they differ by at most the tolerance
 * (cropped or centred), FIT_SMALLER when the picture is shorter by more
 * (centred), FIT_NO when it is longer by more. */
static int fit_1d(int p, int c, int *crop0, int *crop1, int *off, int *len)
{
	int d = p > c ? p - c : c - p;
	int close = (long)d * 1000 <= (long)p * EGW_FIT_NATIVE_PERMILLE;

	if (p > c && !close)
		return FIT_NO;
	if (p >= c) {
		*crop0 = (d / 2) & ~1; /* even: 4:2:0 chroma stays on its lines */
		*crop1 = d - *crop0;
		*off = 0;
		*len = c;
	} else {
		*crop0 = *crop1 = 0;
		*off = (d / 2) & ~1;
		*len = p;
	}
	return close ? FIT_CLOSE : FIT_SMALLER;
}

int egw_fit_native(int pic_w, int pic_h, int cell_w, int cell_h, egw_fit_t *out)
{
	egw_fit_t f = {0};
	int fx, fy;

	*out = (egw_fit_t){.width = cell_w, .height = cell_h};
	if (pic_w <= 0 || pic_h <= 0 || cell_w <= 0 || cell_h <= 0)
		return 0;
	fx = fit_1d(pic_w, cell_w, &f.crop_left, &f.crop_right, &f.x, &f.width);
	fy = fit_1d(pic_h, cell_h, &f.crop_top, &f.crop_bottom, &f.y, &f.height);
	/* Both directions placed, and the picture fills the cell in one of
	 * them (a much smaller picture is scaled up). */
	if (!fx || !fy || (fx != FIT_CLOSE && fy != FIT_CLOSE))
		return 0;
	*out = f;
	return 1;
}
