/* Grid maths: how many columns and rows, where each cell goes, and the
 * stage-and-strip geometry of the speaker and screenshare layouts. Every
 * coordinate and size is even (the chroma planes of I420 video). */
#include "compositor/compositor_int.h"

#define CELL_MIN 2    /* pixels: the smallest cell */
#define STRIP_SHARE 5 /* the strip is a fifth of the canvas height */

static int even_floor(int v)
{
	return v < 0 ? 0 : v & ~1;
}

/* The size of each of n cells, EGW_GRID_GAP apart, along a length. */
static int cell_size(int length, int n)
{
	return even_floor((length - EGW_GRID_GAP * (n - 1)) / n);
}

/* The width of a 16:9 picture fitted into a w x h cell. */
static int picture_width(int w, int h)
{
	int from_height = h * 16 / 9;
	return w < from_height ? w : from_height;
}

/* The best columns and rows for exactly n cells, or 0 when no shape within
 * the limits gives cells of at least CELL_MIN. */
static int choose_exact(int n, int width, int height, int max_cols, int max_rows, int *cols,
			int *rows)
{
	int best = -1, best_empty = 0;

	for (int c = 1; c <= n && c <= max_cols; c++) {
		int r = (n + c - 1) / c;
		int cw = cell_size(width, c), ch = cell_size(height, r);
		int picture, empty;

		if (r > max_rows || cw < CELL_MIN || ch < CELL_MIN)
			continue;
		picture = picture_width(cw, ch);
		empty = c * r - n;
		/* larger picture; then fewer empty cells; then more columns */
		if (picture > best || (picture == best && empty <= best_empty)) {
			best = picture;
			best_empty = empty;
			*cols = c;
			*rows = r;
		}
	}
	return best >= 0;
}

int egw_grid_choose(int n, int width, int height, int max_cols, int max_rows, int *cols,
		    int *rows)
{
	*cols = *rows = 0;
	if (n <= 0 || width < CELL_MIN || height < CELL_MIN || max_cols < 1 || max_rows < 1)
		return 0;
	if ((long long)max_cols * max_rows < n)
		n = max_cols * max_rows;
	/* Fewer cells only when the area is too small for n of them. */
	for (; n > 0; n--)
		if (choose_exact(n, width, height, max_cols, max_rows, cols, rows))
			return n;
	return 0;
}

void egw_grid_place(egw_rect_t area, int n, int cols, int rows, egw_rect_t *cells)
{
	int cw, ch, used_rows, grid_h, y0;

	if (n <= 0 || cols <= 0 || rows <= 0)
		return;
	cw = cell_size(area.width, cols);
	ch = cell_size(area.height, rows);
	used_rows = (n + cols - 1) / cols;
	grid_h = used_rows * ch + (used_rows - 1) * EGW_GRID_GAP;
	y0 = area.y + even_floor((area.height - grid_h) / 2);
	for (int i = 0; i < n; i++) {
		int row = i / cols, col = i % cols;
		int in_row = row == used_rows - 1 ? n - row * cols : cols;
		int row_w = in_row * cw + (in_row - 1) * EGW_GRID_GAP;
		int x0 = area.x + even_floor((area.width - row_w) / 2);

		cells[i].x = x0 + col * (cw + EGW_GRID_GAP);
		cells[i].y = y0 + row * (ch + EGW_GRID_GAP);
		cells[i].width = cw;
		cells[i].height = ch;
	}
}

int egw_grid_stage(int width, int height, int n_strip, egw_rect_t *stage, egw_rect_t *strip)
{
	int strip_h, cell_w, fit, row_w, x0;

	width = even_floor(width);
	height = even_floor(height);
	stage->x = stage->y = 0;
	stage->width = width;
	stage->height = height;
	strip_h = even_floor(height / STRIP_SHARE);
	if (n_strip <= 0 || strip_h < CELL_MIN || height - strip_h - EGW_GRID_GAP < CELL_MIN)
		return 0;
	cell_w = even_floor(strip_h * 16 / 9);
	if (cell_w > width)
		cell_w = width;
	fit = (width + EGW_GRID_GAP) / (cell_w + EGW_GRID_GAP);
	if (fit > n_strip)
		fit = n_strip;
	if (fit < 1 || cell_w < CELL_MIN)
		return 0;
	stage->height = height - strip_h - EGW_GRID_GAP;
	row_w = fit * cell_w + (fit - 1) * EGW_GRID_GAP;
	x0 = even_floor((width - row_w) / 2);
	for (int i = 0; i < fit; i++) {
		strip[i].x = x0 + i * (cell_w + EGW_GRID_GAP);
		strip[i].y = stage->height + EGW_GRID_GAP;
		strip[i].width = cell_w;
		strip[i].height = strip_h;
	}
	return fit;
}
