/*
 * image.c - libhodu_rt's image decoder, lent to models through
 * hodu_exec.decode_image (ImageDecoder; hodu_abi.h, "Images").
 *
 * The bytes come from whoever feeds the model: untrusted.  Every format is
 * parsed by its maintained library (libjpeg-turbo, libpng, libwebp,
 * libtiff, OpenJPEG, stb_image for BMP and PNM), never here; this file
 * tells the formats apart by their first bytes, checks the dims a header
 * gives against a pixel limit before anything is allocated for them, turns
 * every library error into a message (libjpeg and libpng through longjmp,
 * libtiff and OpenJPEG through their per-handle callbacks), and converts
 * the RGB result to the pixel format the node asks for.  The decoding
 * follows Pillow, the ONNX reference: libjpeg's default (islow) DCT and
 * fancy upsampling, 16-bit PNG samples cut to their high byte, no gamma,
 * no EXIF orientation, grayscale by Pillow's convert("L").
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HODU_RT_NO_IMAGE /* a runtime built without the image libraries (a cross build) */
/* after stdio.h and stddef.h, which jpeglib.h needs but does not include */
#include <jerror.h>
#include <jpeglib.h>
#include <openjpeg.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>

#include "rt_impl.h"
#include "stb_image.h"

/* One decoding: the limit and where the reason of a failure goes. */
typedef struct img_ctx {
    uint64_t max_pixels;
    char why[400];
} img_ctx;

/* A decoded image: w x h pixels of RGB, from malloc (or stb's own). */
typedef struct img_rgb {
    uint8_t *px;
    uint32_t w, h;
    bool stb; /* free with stbi_image_free */
} img_rgb;

static bool fail(img_ctx *c, const char *fmt, ...) HODU_RT_PRINTF(2, 3);
static bool fail(img_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return false;
}

/* A header's dims, before anything is allocated for them. */
static bool dims_ok(img_ctx *c, const char *fmt, uint64_t w, uint64_t h)
{
    if (w == 0 || h == 0)
        return fail(c, "%s: the image has no pixels (%llu x %llu)", fmt, (unsigned long long)w, (unsigned long long)h);
    if (w > UINT32_MAX || h > UINT32_MAX || w * h > c->max_pixels)
        return fail(c, "%s: %llu x %llu pixels is more than the %llu this decoder accepts", fmt, (unsigned long long)w,
                    (unsigned long long)h, (unsigned long long)c->max_pixels);
    return true;
}

/* --- JPEG: libjpeg-turbo --------------------------------------------------- */

typedef struct jpeg_fail_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    uint8_t *px; /* what to free after a longjmp */
} jpeg_fail_mgr;

static void jpeg_on_error(j_common_ptr ci)
{
    jpeg_fail_mgr *m = (jpeg_fail_mgr *)ci->err;
    (*ci->err->format_message)(ci, m->msg);
    longjmp(m->jb, 1);
}

/* Warnings are quiet, but data that ends early is an error: libjpeg would
 * fill the rest with gray where Pillow says the file is truncated. */
static void jpeg_on_message(j_common_ptr ci, int level)
{
    if (level == -1 && ci->err->msg_code == JWRN_JPEG_EOF)
        jpeg_on_error(ci);
}

static bool dec_jpeg(img_ctx *c, const uint8_t *b, size_t n, img_rgb *out)
{
    struct jpeg_decompress_struct ci;
    jpeg_fail_mgr m;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&m.pub);
    m.pub.error_exit = jpeg_on_error;
    m.pub.emit_message = jpeg_on_message;
    m.px = NULL;
    if (n > ULONG_MAX)
        return fail(c, "JPEG: too many bytes");
    if (setjmp(m.jb)) {
        jpeg_destroy_decompress(&ci);
        free(m.px);
        return fail(c, "JPEG: %s", m.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, b, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&ci);
        return fail(c, "JPEG: CMYK images are not supported");
    }
    if (!dims_ok(c, "JPEG", ci.image_width, ci.image_height)) {
        jpeg_destroy_decompress(&ci);
        return false;
    }
    ci.out_color_space = JCS_RGB; /* dct_method and do_fancy_upsampling keep their defaults, as in Pillow */
    jpeg_start_decompress(&ci);
    if (ci.output_components != 3) {
        jpeg_destroy_decompress(&ci);
        return fail(c, "JPEG: %d components after conversion to RGB", ci.output_components);
    }
    const size_t stride = (size_t)ci.output_width * 3;
    m.px = malloc(stride * ci.output_height);
    if (m.px == NULL) {
        jpeg_destroy_decompress(&ci);
        return fail(c, "JPEG: out of memory");
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = m.px + (size_t)ci.output_scanline * stride;
        if (jpeg_read_scanlines(&ci, &row, 1) != 1) { /* cannot happen with a memory source */
            jpeg_destroy_decompress(&ci);
            free(m.px);
            return fail(c, "JPEG: the data ends early");
        }
    }
    jpeg_finish_decompress(&ci);
    *out = (img_rgb){.px = m.px, .w = ci.output_width, .h = ci.output_height};
    jpeg_destroy_decompress(&ci);
    return true;
}

/* --- PNG: libpng ----------------------------------------------------------- */

typedef struct png_src {
    const uint8_t *b;
    size_t n, at;
    char msg[256];
} png_src;

static void png_on_error(png_structp p, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(p);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(p, 1);
}

static void png_on_warning(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

static void png_read_mem(png_structp p, png_bytep dst, size_t len)
{
    png_src *s = png_get_io_ptr(p);
    if (len > s->n - s->at)
        png_error(p, "the data ends early");
    memcpy(dst, s->b + s->at, len);
    s->at += len;
}

static bool dec_png(img_ctx *c, const uint8_t *b, size_t n, img_rgb *out)
{
    png_src s = {.b = b, .n = n};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (info == NULL) {
        png_destroy_read_struct(&p, NULL, NULL);
        return fail(c, "PNG: out of memory");
    }
    /* volatile: changed after setjmp, read after a longjmp */
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(px);
        free(rows);
        return fail(c, "PNG: %s", s.msg);
    }
    png_set_read_fn(p, &s, png_read_mem);
    png_set_user_limits(p, 0x7fffffff, 0x7fffffff);
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    if (!dims_ok(c, "PNG", w, h)) {
        png_destroy_read_struct(&p, &info, NULL);
        return false;
    }
    /* To 8-bit RGB: palettes and low bit depths expanded, 16-bit samples
     * cut to their high byte (Pillow's RGB;16B), alpha dropped, gray
     * repeated; no gamma correction (Pillow applies none). */
    png_set_expand(p);
    png_set_strip_16(p);
    png_set_strip_alpha(p);
    png_set_gray_to_rgb(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    if (png_get_rowbytes(p, info) != (size_t)w * 3)
        png_error(p, "unexpected row size after conversion to RGB");
    px = malloc((size_t)w * h * 3);
    rows = malloc((size_t)h * sizeof(png_bytep));
    if (px == NULL || rows == NULL)
        png_error(p, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    *out = (img_rgb){.px = px, .w = w, .h = h};
    return true;
}

/* --- WebP: libwebp --------------------------------------------------------- */

static bool dec_webp(img_ctx *c, const uint8_t *b, size_t n, img_rgb *out)
{
    int w, h;
    if (!WebPGetInfo(b, n, &w, &h))
        return fail(c, "WebP: the header is corrupt or not one libwebp reads (animations are not)");
    if (!dims_ok(c, "WebP", (uint64_t)w, (uint64_t)h))
        return false;
    size_t size = (size_t)w * (size_t)h * 3;
    uint8_t *px = malloc(size);
    if (px == NULL)
        return fail(c, "WebP: out of memory");
    if (WebPDecodeRGBInto(b, n, px, size, w * 3) == NULL) {
        free(px);
        return fail(c, "WebP: the data is corrupt or ends early");
    }
    *out = (img_rgb){.px = px, .w = (uint32_t)w, .h = (uint32_t)h};
    return true;
}

/* --- TIFF: libtiff --------------------------------------------------------- */

typedef struct tiff_src {
    const uint8_t *b;
    uint64_t n, at;
    img_ctx *c;
    bool failed;
} tiff_src;

static tmsize_t tiff_read(thandle_t h, void *dst, tmsize_t len)
{
    tiff_src *s = h;
    if (len < 0)
        return -1;
    uint64_t k = (uint64_t)len < s->n - s->at ? (uint64_t)len : s->n - s->at;
    memcpy(dst, s->b + s->at, (size_t)k);
    s->at += k;
    return (tmsize_t)k;
}

static tmsize_t tiff_write(thandle_t h, void *src, tmsize_t len)
{
    (void)h;
    (void)src;
    (void)len;
    return -1;
}

static toff_t tiff_seek(thandle_t h, toff_t off, int whence)
{
    tiff_src *s = h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->at : s->n;
    if (off > s->n || base + off > s->n) /* no seeking past the end: there is no writing */
        return (toff_t)-1;
    s->at = base + off;
    return s->at;
}

static int tiff_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t tiff_size(thandle_t h) { return ((tiff_src *)h)->n; }

static int tiff_map(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0;
}

static void tiff_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

static int tiff_on_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t;
    tiff_src *s = user;
    if (!s->failed) { /* the first error says most */
        char msg[300];
        vsnprintf(msg, sizeof msg, fmt, ap);
        fail(s->c, "TIFF: %s%s%s", module ? module : "", module ? ": " : "", msg);
        s->failed = true;
    }
    return 1;
}

static int tiff_on_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;
}

static bool dec_tiff(img_ctx *c, const uint8_t *b, size_t n, img_rgb *out)
{
    tiff_src s = {.b = b, .n = n, .c = c};
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (o == NULL)
        return fail(c, "TIFF: out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(o, tiff_on_error, &s);
    TIFFOpenOptionsSetWarningHandlerExtR(o, tiff_on_warning, &s);
    /* one allocation at most the RGBA raster of the largest image */
    TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)(c->max_pixels * 4));
    TIFF *t = TIFFClientOpenExt("image", "rm", &s, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size, tiff_map,
                                tiff_unmap, o);
    TIFFOpenOptionsFree(o);
    if (t == NULL)
        return s.failed ? false : fail(c, "TIFF: the header is corrupt");
    uint32_t w = 0, h = 0;
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h)) {
        TIFFClose(t);
        return fail(c, "TIFF: the image has no width or length");
    }
    if (!dims_ok(c, "TIFF", w, h)) {
        TIFFClose(t);
        return false;
    }
    uint32_t *raster = malloc((size_t)w * h * sizeof(uint32_t));
    char emsg[1024] = "";
    if (raster == NULL) {
        TIFFClose(t);
        return fail(c, "TIFF: out of memory");
    }
    if (!TIFFRGBAImageOK(t, emsg) || !TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 1) || s.failed) {
        TIFFClose(t);
        free(raster);
        return s.failed ? false : fail(c, "TIFF: %s", emsg[0] ? emsg : "the image data cannot be read");
    }
    TIFFClose(t);
    uint8_t *px = malloc((size_t)w * h * 3);
    if (px == NULL) {
        free(raster);
        return fail(c, "TIFF: out of memory");
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        px[3 * i] = (uint8_t)TIFFGetR(raster[i]);
        px[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
        px[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
    free(raster);
    *out = (img_rgb){.px = px, .w = w, .h = h};
    return true;
}

/* --- JPEG 2000: OpenJPEG ----------------------------------------------------- */

typedef struct j2k_src {
    const uint8_t *b;
    uint64_t n, at;
    img_ctx *c;
    bool failed;
} j2k_src;

static OPJ_SIZE_T j2k_read(void *dst, OPJ_SIZE_T len, void *user)
{
    j2k_src *s = user;
    if (s->at >= s->n)
        return (OPJ_SIZE_T)-1;
    uint64_t k = (uint64_t)len < s->n - s->at ? (uint64_t)len : s->n - s->at;
    memcpy(dst, s->b + s->at, (size_t)k);
    s->at += k;
    return (OPJ_SIZE_T)k;
}

static OPJ_OFF_T j2k_skip(OPJ_OFF_T len, void *user)
{
    j2k_src *s = user;
    if (len < 0 || (uint64_t)len > s->n - s->at)
        return -1;
    s->at += (uint64_t)len;
    return len;
}

static OPJ_BOOL j2k_seek(OPJ_OFF_T pos, void *user)
{
    j2k_src *s = user;
    if (pos < 0 || (uint64_t)pos > s->n)
        return OPJ_FALSE;
    s->at = (uint64_t)pos;
    return OPJ_TRUE;
}

static void j2k_on_error(const char *msg, void *user)
{
    j2k_src *s = user;
    if (!s->failed) {
        size_t len = strlen(msg);
        while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            len--;
        fail(s->c, "JPEG 2000: %.*s", (int)(len < 300 ? len : 300), msg);
        s->failed = true;
    }
}

static void j2k_quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

/* One sample to 8 bits as Pillow does: unsigned, shifted to 8 bits of
 * precision, clamped. */
static uint8_t j2k_sample(const opj_image_comp_t *k, size_t i)
{
    int64_t v = k->data[i];
    if (k->sgnd)
        v += (int64_t)1 << (k->prec - 1);
    v = k->prec > 8 ? v >> (k->prec - 8) : v << (8 - k->prec);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static bool dec_j2k(img_ctx *c, const uint8_t *b, size_t n, bool jp2, img_rgb *out)
{
    j2k_src s = {.b = b, .n = n, .c = c};
    opj_stream_t *st = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_image_t *im = NULL;
    bool ok = false;
    if (st == NULL || codec == NULL) {
        fail(c, "JPEG 2000: out of memory");
        goto done;
    }
    opj_stream_set_read_function(st, j2k_read);
    opj_stream_set_skip_function(st, j2k_skip);
    opj_stream_set_seek_function(st, j2k_seek);
    opj_stream_set_user_data(st, &s, NULL);
    opj_stream_set_user_data_length(st, n);
    opj_set_error_handler(codec, j2k_on_error, &s);
    opj_set_warning_handler(codec, j2k_quiet, &s);
    opj_set_info_handler(codec, j2k_quiet, &s);
    opj_dparameters_t prm;
    opj_set_default_decoder_parameters(&prm);
    if (!opj_setup_decoder(codec, &prm) || !opj_read_header(st, codec, &im)) {
        if (!s.failed)
            fail(c, "JPEG 2000: the header is corrupt");
        goto done;
    }
    if (im->x1 <= im->x0 || im->y1 <= im->y0 || im->numcomps == 0) {
        fail(c, "JPEG 2000: the image has no pixels");
        goto done;
    }
    const uint32_t w = im->x1 - im->x0, h = im->y1 - im->y0;
    if (!dims_ok(c, "JPEG 2000", w, h))
        goto done;
    if (!opj_decode(codec, st, im) || !opj_end_decompress(codec, st)) {
        if (!s.failed)
            fail(c, "JPEG 2000: the data is corrupt or ends early");
        goto done;
    }
    if (im->color_space == OPJ_CLRSPC_SYCC || im->color_space == OPJ_CLRSPC_EYCC ||
        im->color_space == OPJ_CLRSPC_CMYK) {
        fail(c, "JPEG 2000: YCC and CMYK colour spaces are not supported");
        goto done;
    }
    const uint32_t nc = im->numcomps >= 3 ? 3 : 1;
    for (uint32_t k = 0; k < nc; k++) {
        const opj_image_comp_t *q = &im->comps[k];
        if (q->data == NULL || q->w != w || q->h != h || q->dx != 1 || q->dy != 1 || q->prec < 1 || q->prec > 31) {
            fail(c, "JPEG 2000: component %u is subsampled or has no data", k);
            goto done;
        }
    }
    uint8_t *px = malloc((size_t)w * h * 3);
    if (px == NULL) {
        fail(c, "JPEG 2000: out of memory");
        goto done;
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (uint32_t ch = 0; ch < 3; ch++)
            px[3 * i + ch] = j2k_sample(&im->comps[nc == 3 ? ch : 0], i);
    *out = (img_rgb){.px = px, .w = w, .h = h};
    ok = true;
done:
    if (im != NULL)
        opj_image_destroy(im);
    if (codec != NULL)
        opj_destroy_codec(codec);
    if (st != NULL)
        opj_stream_destroy(st);
    return ok;
}

/* --- BMP and PNM: stb_image ------------------------------------------------ */

/* stb_image reads zeros past the end of its data, or leaves pixels unset
 * (PNM ignores a short read), and calls that an image.  Through these
 * callbacks the data counts as truncated when a read finds nothing left
 * (a whole image never asks for a byte after its last) or when a read of
 * pixel data (stbi__getn: any size but that of stb's 128-byte buffer,
 * whose refills may fairly run past the end) comes back short. */
#define STB_BUFFER_BYTES 128
typedef struct stb_src {
    const uint8_t *b;
    size_t n, at;
    bool past_end;
} stb_src;

static int stb_read(void *user, char *dst, int len)
{
    stb_src *s = user;
    size_t k = len < 0 ? 0 : (size_t)len < s->n - s->at ? (size_t)len : s->n - s->at;
    if (len > 0 && (k == 0 || (k < (size_t)len && len != STB_BUFFER_BYTES)))
        s->past_end = true;
    memcpy(dst, s->b + s->at, k);
    s->at += k;
    return (int)k;
}

static void stb_skip(void *user, int len)
{
    stb_src *s = user;
    if (len < 0) { /* stb skips back only within what it read */
        s->at = (size_t)-len > s->at ? 0 : s->at - (size_t)-len;
        return;
    }
    if ((size_t)len > s->n - s->at)
        s->past_end = true;
    s->at = (size_t)len > s->n - s->at ? s->n : s->at + (size_t)len;
}

static int stb_eof(void *user)
{
    stb_src *s = user;
    return s->at >= s->n;
}

static bool dec_stb(img_ctx *c, const char *fmt, const uint8_t *b, size_t n, img_rgb *out)
{
    int w, h, comp;
    if (n > INT_MAX)
        return fail(c, "%s: too many bytes", fmt);
    if (!stbi_info_from_memory(b, (int)n, &w, &h, &comp))
        return fail(c, "%s: %s", fmt, stbi_failure_reason() ? stbi_failure_reason() : "the header is corrupt");
    if (!dims_ok(c, fmt, (uint64_t)w, (uint64_t)h))
        return false;
    stb_src src = {.b = b, .n = n};
    const stbi_io_callbacks io = {stb_read, stb_skip, stb_eof};
    uint8_t *px = stbi_load_from_callbacks(&io, &src, &w, &h, &comp, 3);
    if (px == NULL)
        return fail(c, "%s: %s", fmt, stbi_failure_reason() ? stbi_failure_reason() : "the data is corrupt");
    if (src.past_end) {
        stbi_image_free(px);
        return fail(c, "%s: the data ends early", fmt);
    }
    *out = (img_rgb){.px = px, .w = (uint32_t)w, .h = (uint32_t)h, .stb = true};
    return true;
}

/* --- the entry point ------------------------------------------------------- */

static bool has_magic(const uint8_t *b, size_t n, const char *magic, size_t len)
{
    return n >= len && memcmp(b, magic, len) == 0;
}

static bool decode_rgb(img_ctx *c, const uint8_t *b, size_t n, img_rgb *out)
{
    if (has_magic(b, n, "\xff\xd8\xff", 3))
        return dec_jpeg(c, b, n, out);
    if (has_magic(b, n, "\x89PNG\r\n\x1a\n", 8))
        return dec_png(c, b, n, out);
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return dec_webp(c, b, n, out);
    if (has_magic(b, n, "II*\0", 4) || has_magic(b, n, "MM\0*", 4))
        return dec_tiff(c, b, n, out);
    if (has_magic(b, n, "\0\0\0\x0cjP  \r\n\x87\n", 12))
        return dec_j2k(c, b, n, true, out);
    if (has_magic(b, n, "\xff\x4f\xff\x51", 4))
        return dec_j2k(c, b, n, false, out);
    if (has_magic(b, n, "BM", 2))
        return dec_stb(c, "BMP", b, n, out);
    if (has_magic(b, n, "P5", 2) || has_magic(b, n, "P6", 2))
        return dec_stb(c, "PNM", b, n, out);
    return fail(c, "the bytes start as no image format this decoder reads (JPEG, PNG, WebP, TIFF, JPEG 2000, BMP, "
                   "binary PNM)");
}

int hodurt_decode_image(hodu_error *err, uint64_t max_pixels, const uint8_t *bytes, uint64_t n_bytes,
                        int32_t pixel_format, void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx,
                        uint8_t **pixels, int64_t dims[3])
{
    img_ctx c = {.max_pixels = max_pixels};
    img_rgb im = {0};
    const uint64_t ch = pixel_format == HODU_PIXEL_GRAY ? 1 : 3;
    bool ok = false;
    if (pixels == NULL || dims == NULL || alloc == NULL || (bytes == NULL && n_bytes > 0) ||
        (pixel_format != HODU_PIXEL_RGB && pixel_format != HODU_PIXEL_BGR && pixel_format != HODU_PIXEL_GRAY))
        fail(&c, "the call is malformed (NULL pointers or a pixel format other than 0, 1, 2)");
    else if (n_bytes > SIZE_MAX)
        fail(&c, "too many bytes");
    else if (decode_rgb(&c, bytes, (size_t)n_bytes, &im))
        ok = true;
    uint8_t *dst = NULL;
    const size_t np = (size_t)im.w * im.h;
    if (ok && (dst = alloc(alloc_ctx, np * ch)) == NULL)
        ok = fail(&c, "no memory from the host's allocator for %llu bytes", (unsigned long long)(np * ch));
    if (ok) {
        const uint8_t *s = im.px;
        if (pixel_format == HODU_PIXEL_RGB) {
            memcpy(dst, s, np * 3);
        } else if (pixel_format == HODU_PIXEL_BGR) {
            for (size_t i = 0; i < np; i++) {
                dst[3 * i] = s[3 * i + 2];
                dst[3 * i + 1] = s[3 * i + 1];
                dst[3 * i + 2] = s[3 * i];
            }
        } else { /* ITU-R 601-2 luma in 16-bit fixed point, rounded: Pillow's convert("L") */
            for (size_t i = 0; i < np; i++)
                dst[i] = (uint8_t)((s[3 * i] * 19595u + s[3 * i + 1] * 38470u + s[3 * i + 2] * 7471u + 0x8000u) >> 16);
        }
        *pixels = dst;
        dims[0] = im.h;
        dims[1] = im.w;
        dims[2] = (int64_t)ch;
    }
    if (im.stb)
        stbi_image_free(im.px);
    else
        free(im.px);
    if (!ok) {
        hodurt_fail(err, HODU_ERR_INVALID_ARG, "the image could not be decoded: %s", c.why);
        return 1;
    }
    hodurt_ok(err);
    return 0;
}

#else /* HODU_RT_NO_IMAGE */
#include "rt_impl.h"

int hodurt_decode_image(hodu_error *err, uint64_t max_pixels, const uint8_t *bytes, uint64_t n_bytes,
                        int32_t pixel_format, void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx,
                        uint8_t **pixels, int64_t dims[3])
{
    (void)max_pixels, (void)bytes, (void)n_bytes, (void)pixel_format, (void)alloc, (void)alloc_ctx, (void)pixels,
        (void)dims;
    hodurt_fail(err, HODU_ERR_UNSUPPORTED, "this libhodu_rt was not built with image decoding");
    return 1;
}
#endif

HODU_RT_API int hodu_decode_image(void *decode_ctx, const uint8_t *bytes, uint64_t n_bytes, int32_t pixel_format,
                                  void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx, uint8_t **pixels,
                                  int64_t dims[3])
{
    return hodurt_decode_image(decode_ctx, HODU_IMAGE_MAX_PIXELS, bytes, n_bytes, pixel_format, alloc, alloc_ctx,
                               pixels, dims);
}
