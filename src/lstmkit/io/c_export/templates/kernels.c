/* ------------------------------------------------------------------------------------------
 * The lstmkit C runtime: the kernels an exported model is made of (lstmkit.io.export_c pastes
 * this file into model.c; the LK_USE_* switches above keep only what the model uses).
 *
 * Plain C99, float32, no allocation, nothing from the C library but <math.h>.
 * Weights are stored as rows, one per output unit, so every pre-activation is one pass over
 * contiguous memory:
 *     recurrent layer:  row j = [W_x[:, j] ; W_h[:, j]]   (D + H numbers)
 *     Dense:            row j = W[:, j]                   (D numbers)
 *     Embedding:        row v = E[v, :]                   (the vector of id v)
 * In an int8 model (LK_INT8 1) the rows are signed char with a float scale per row and per
 * matrix (per-channel symmetric quantisation):  W_x[:, j] ≈ sx_j · q_x[:, j], |q| ≤ 127,
 * so  x · W_x[:, j] = sx_j · Σ_k q_x[k, j] x_k  and the activations stay float.
 * ------------------------------------------------------------------------------------------ */

#if LK_INT8
typedef signed char lk_w;
#define LK_SCALED(acc, s, j) ((acc) * (s)[j]) /* int8: Σ q·x times the row's scale */
#else
typedef float lk_w;
#define LK_SCALED(acc, s, j) (acc) /* float: the sum is the value */
#endif

/* A recurrent cell: D inputs, H units, G·H rows of D + H weights (G = 4 LSTM, 3 GRU, 1 RNN). */
typedef struct {
    int D, H;
    const lk_w *W;        /* (G·H) × (D + H): row j = [W_x[:, j] ; W_h[:, j]] */
    const float *sx, *sh; /* int8: the scales of W_x[:, j] and W_h[:, j]; float: null */
    const float *b;       /* (G·H) bias; GRU: b_x (3H) then b_h (3H) */
} lk_cell;

/* A Dense layer y = act(x · W + b): N rows of D weights. */
typedef struct {
    int D, N;
    const lk_w *W;  /* N × D: row j = W[:, j] */
    const float *s; /* int8: the scale of row j; float: null */
    const float *b; /* (N) bias, or null (use_bias=False) */
} lk_dense;

/* Σ_k w_k v_k: four partial sums (independent multiply-adds), added in a fixed order. */
static float lk_dot(const lk_w *w, const float *v, int n)
{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += (float)w[k] * v[k];
        s1 += (float)w[k + 1] * v[k + 1];
        s2 += (float)w[k + 2] * v[k + 2];
        s3 += (float)w[k + 3] * v[k + 3];
    }
    for (; k < n; ++k)
        s0 += (float)w[k] * v[k];
    return (s0 + s1) + (s2 + s3);
}

static void lk_zero(float *v, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        v[k] = 0.0f;
}

#if LK_USE_COPY
static void lk_copy(float *dst, const float *src, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        dst[k] = src[k];
}
#endif

#if defined(LK_LIBM_TANH) /* -DLK_LIBM_TANH: the C library's tanhf */
#define lk_tanhf tanhf
#else
/* tanh(x) ≈ x·P(x²) / Q(x²) on [−7.905, 7.905] (±1 beyond, to float precision): Eigen's
 * generic_fast_tanh_float, the float32 tanh of lstmkit's own kernel — max relative error
 * ~3e-7, a handful of multiply-adds and one division instead of a libm call. */
static float lk_tanhf(float x)
{
    const float lim = 7.90531110763549805f;
    const float xc = x > lim ? lim : (x < -lim ? -lim : x), x2 = xc * xc;
    float p = -2.76076847742355e-16f, q = 1.19825839466702e-06f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return (x < 0.0004f && x > -0.0004f) ? x : xc * p / q; /* tanh(x) = x to float there */
}
#endif

#if LK_USE_SIGMOID
/* σ(z) = 1 / (1 + e^{−z}) written as ½·tanh(z/2) + ½: never overflows (as lstmkit's) */
static float lk_sigmoid(float z)
{
    return 0.5f * lk_tanhf(0.5f * z) + 0.5f;
}
#endif

#if LK_USE_LSTM
/* One LSTM step, gate order i, f, g, o (PyTorch's and Keras'):
 *     z_t = x_t · W_x + h_{t−1} · W_h + b                    z: scratch, 4H
 *     i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
 *     c_t = f ⊙ c_{t−1} + i ⊙ g
 *     h_t = o ⊙ tanh(c_t)
 * h, c: the layer's state, updated in place (all of z is made before h changes). */
static void lk_lstm_step(const lk_cell *p, const float *x, float *h, float *c, float *z)
{
    const int D = p->D, H = p->H;
    int j;
    for (j = 0; j < 4 * H; ++j) {
        const lk_w *w = p->W + (long)j * (D + H);
        z[j] = LK_SCALED(lk_dot(w, x, D), p->sx, j) + LK_SCALED(lk_dot(w + D, h, H), p->sh, j) +
               p->b[j];
    }
    for (j = 0; j < H; ++j) {
        const float i = lk_sigmoid(z[j]), f = lk_sigmoid(z[H + j]);
        const float g = lk_tanhf(z[2 * H + j]), o = lk_sigmoid(z[3 * H + j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * lk_tanhf(c[j]);
    }
}
#endif

#if LK_USE_GRU
/* One GRU step, gate order z, r, n (Keras' reset_after=True = PyTorch's GRU):
 *     a = x_t · W_x + b_x          u = h_{t−1} · W_h + b_h       a, u: scratch, 3H each
 *     z = σ(a_z + u_z)   r = σ(a_r + u_r)   n = tanh(a_n + r ⊙ u_n)
 *     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
 * (c is unused: a GRU has h only; the argument keeps one signature for every cell.) */
static void lk_gru_step(const lk_cell *p, const float *x, float *h, float *c, float *a)
{
    const int D = p->D, H = p->H;
    float *u = a + 3 * H;
    int j;
    (void)c;
    for (j = 0; j < 3 * H; ++j) {
        const lk_w *w = p->W + (long)j * (D + H);
        a[j] = LK_SCALED(lk_dot(w, x, D), p->sx, j) + p->b[j];
        u[j] = LK_SCALED(lk_dot(w + D, h, H), p->sh, j) + p->b[3 * H + j];
    }
    for (j = 0; j < H; ++j) {
        const float z = lk_sigmoid(a[j] + u[j]), r = lk_sigmoid(a[H + j] + u[H + j]);
        const float n = lk_tanhf(a[2 * H + j] + r * u[2 * H + j]);
        h[j] = (1.0f - z) * n + z * h[j];
    }
}
#endif

#if LK_USE_RNN
/* One SimpleRNN (Elman) step:  h_t = tanh(x_t · W_x + h_{t−1} · W_h + b)     z: scratch, H */
static void lk_rnn_step(const lk_cell *p, const float *x, float *h, float *c, float *z)
{
    const int D = p->D, H = p->H;
    int j;
    (void)c;
    for (j = 0; j < H; ++j) {
        const lk_w *w = p->W + (long)j * (D + H);
        z[j] = LK_SCALED(lk_dot(w, x, D), p->sx, j) + LK_SCALED(lk_dot(w + D, h, H), p->sh, j) +
               p->b[j];
    }
    for (j = 0; j < H; ++j)
        h[j] = lk_tanhf(z[j]);
}
#endif

#if LK_USE_DENSE
/* Dense, before its activation:  y_j = x · W[:, j] + b_j   (y must not alias x) */
static void lk_dense_apply(const lk_dense *p, const float *x, float *y)
{
    int j;
    for (j = 0; j < p->N; ++j) {
        const float acc = LK_SCALED(lk_dot(p->W + (long)j * p->D, x, p->D), p->s, j);
        y[j] = p->b ? acc + p->b[j] : acc;
    }
}
#endif

#if LK_USE_EMBED
/* Embedding: y = E[id, :]   (int8: the row's scale times its codes) */
static void lk_embed(const lk_w *E, const float *s, int E_dim, int id, float *y)
{
    const lk_w *row = E + (long)id * E_dim;
    int k;
#if LK_INT8
    for (k = 0; k < E_dim; ++k)
        y[k] = s[id] * (float)row[k];
#else
    (void)s;
    for (k = 0; k < E_dim; ++k)
        y[k] = row[k];
#endif
}
#endif

/* Activations, in place on a vector of n */
#if LK_USE_RELU
static void lk_relu(float *v, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        v[k] = v[k] > 0.0f ? v[k] : 0.0f;
}
#endif
#if LK_USE_TANH
static void lk_tanh(float *v, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        v[k] = lk_tanhf(v[k]);
}
#endif
#if LK_USE_SIGMOID_ACT
static void lk_sigmoid_all(float *v, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        v[k] = lk_sigmoid(v[k]);
}
#endif
#if LK_USE_SOFTMAX
/* softmax(v)_k = e^{v_k − m} / Σ_l e^{v_l − m},  m = max_l v_l (exp never overflows) */
static void lk_softmax(float *v, int n)
{
    float m = v[0], sum = 0.0f;
    int k;
    for (k = 1; k < n; ++k)
        m = v[k] > m ? v[k] : m;
    for (k = 0; k < n; ++k) {
        v[k] = expf(v[k] - m);
        sum += v[k];
    }
    for (k = 0; k < n; ++k)
        v[k] /= sum;
}
#endif

#if LK_USE_SEQ
/* ---- whole sequences (models with a Bidirectional or go_backwards layer: run only) ---- */
typedef void (*lk_step_fn)(const lk_cell *, const float *, float *, float *, float *);

/* One recurrent cell over n rows (row t of the input at in + t·D).
 *   reverse:  read the rows n−1 … 0 (go_backwards; a Bidirectional's backward half)
 *   m:        null, or m[t] = 0 where row t is padding: h and c are carried through
 *   all:      write h after every step, else only after the last (return_sequences=False)
 *   flip:     write step k's h at output row n−1−k instead of k (a backward half, whose
 *             output goes back into input order)
 * Output row k at out + k·stride + col (a Bidirectional writes its halves side by side). */
static void lk_seq(lk_step_fn step, const lk_cell *p, const float *in, int n, const float *m,
                   int reverse, int all, int flip, float *h, float *c, float *z, float *out,
                   int stride, int col)
{
    int k;
    for (k = 0; k < n; ++k) {
        const int t = reverse ? n - 1 - k : k;
        if (!m || m[t] != 0.0f)
            step(p, in + (long)t * p->D, h, c, z);
        if (all)
            lk_copy(out + (long)(flip ? n - 1 - k : k) * stride + col, h, p->H);
    }
    if (!all)
        lk_copy(out + col, h, p->H);
}
#endif

#if LK_USE_MERGE
/* Bidirectional merge of n rows [→h, ←h] (2H wide) into H wide rows, in place:
 * mode 1 sum  →h + ←h,   2 mul  →h ⊙ ←h,   3 ave  (→h + ←h) / 2 */
static void lk_merge(float *v, int n, int H, int mode)
{
    int t, j;
    for (t = 0; t < n; ++t)
        for (j = 0; j < H; ++j) {
            const float a = v[(long)t * 2 * H + j], b = v[(long)t * 2 * H + H + j];
            v[(long)t * H + j] = mode == 1 ? a + b : mode == 2 ? a * b : (a + b) / 2.0f;
        }
}
#endif

#if LK_USE_REVERSE
/* the mask of a go_backwards layer's output is in processing order: reverse it */
static void lk_reverse(float *v, int n)
{
    int k;
    for (k = 0; k < n / 2; ++k) {
        const float t = v[k];
        v[k] = v[n - 1 - k];
        v[n - 1 - k] = t;
    }
}
#endif
#if LK_USE_MASKING
/* Masking(mask_value): row t of x (d features) is padding when every feature equals mv:
 *     m_t = any_k (x[t, k] ≠ mv)          (the recurrent layers carry h, c through m_t = 0)
 * With y non-null the rows also pass on as y_t = m_t · x_t (mv ≠ 0: padding rows become 0). */
static void lk_masking(const float *x, int n, int d, float mv, float *m, float *y)
{
    int t, k;
    for (t = 0; t < n; ++t) {
        const float *r = x + (long)t * d;
        int keep = 0;
        for (k = 0; k < d; ++k)
            keep |= r[k] != mv;
        m[t] = keep ? 1.0f : 0.0f;
        if (y)
            for (k = 0; k < d; ++k)
                y[(long)t * d + k] = keep ? r[k] : 0.0f;
    }
}
#endif

#if LK_USE_CONV
/* Conv1D over n rows of C channels (channels last), F filters of K taps, stride S, dilation Dl:
 *     y[t, o] = Σ_{j<K} Σ_c x̃[t·S + j·Dl, c] · W[j, c, o] + b_o
 * x̃ is x with zero rows around it: "valid" none; "causal" (K−1)·Dl in front; "same" (Keras) a
 * total of max((⌈n/S⌉ − 1)·S + (K−1)·Dl + 1 − n, 0), its smaller half in front. */
typedef struct {
    int C, F, K, S, Dl, pad; /* pad: 0 valid, 1 same, 2 causal */
    const lk_w *W;           /* F × (K·C): row o = W[:, :, o], tap after tap */
    const float *s;          /* int8: the scale of row o; float: null */
    const float *b;          /* (F) bias, or null */
} lk_conv;

/* → the rows of y: (n + padding − (K−1)·Dl − 1) / S + 1, or 0 when n is shorter than the
 * kernel's span (y must not alias x) */
static int lk_conv1d(const lk_conv *p, const float *x, int n, float *y)
{
    const int span = (p->K - 1) * p->Dl, C = p->C;
    int front = 0, total = 0, n_out, t, o, j;
    if (p->pad == 2) {
        total = front = span;
    } else if (p->pad == 1) {
        total = ((n + p->S - 1) / p->S - 1) * p->S + span + 1 - n;
        total = total > 0 ? total : 0;
        front = total / 2;
    }
    if (n + total - span - 1 < 0)
        return 0;
    n_out = (n + total - span - 1) / p->S + 1;
    for (t = 0; t < n_out; ++t)
        for (o = 0; o < p->F; ++o) {
            const lk_w *w = p->W + (long)o * p->K * C;
            float acc = 0.0f;
            for (j = 0; j < p->K; ++j) {
                const int u = t * p->S + j * p->Dl - front; /* the input row of tap j */
                if (u >= 0 && u < n)
                    acc += lk_dot(w + (long)j * C, x + (long)u * C, C);
            }
            acc = LK_SCALED(acc, p->s, o);
            y[(long)t * p->F + o] = p->b ? acc + p->b[o] : acc;
        }
    return n_out;
}
#endif

/* Pooling over the rows (time) of x (n × C) into y (C); m null, or m[t] = 0 where row t is
 * padding (it takes no part; no real row at all pools to zeros, as lstmkit's layers). */
#if LK_USE_POOL_MAX
/* GlobalMaxPooling1D:  y_c = max_{t: m_t} x[t, c] */
static void lk_pool_max(const float *x, int n, int C, const float *m, float *y)
{
    int t, c, any = 0;
    for (t = 0; t < n; ++t) {
        if (m && m[t] == 0.0f)
            continue;
        for (c = 0; c < C; ++c) {
            const float v = x[(long)t * C + c];
            y[c] = !any || v > y[c] ? v : y[c];
        }
        any = 1;
    }
    if (!any)
        lk_zero(y, C);
}
#endif

#if LK_USE_POOL_MEAN
/* GlobalAveragePooling1D:  y = Σ_t w_t x_t,  w_t = m_t / max(Σ_t m_t, 1)  (m null: 1 / n) */
static void lk_pool_mean(const float *x, int n, int C, const float *m, float *y)
{
    float count = 0.0f, w;
    int t, c;
    for (t = 0; t < n; ++t)
        count += m ? m[t] : 1.0f;
    w = 1.0f / (count > 1.0f ? count : 1.0f);
    lk_zero(y, C);
    for (t = 0; t < n; ++t) {
        if (m && m[t] == 0.0f)
            continue;
        for (c = 0; c < C; ++c)
            y[c] += w * x[(long)t * C + c];
    }
}
#endif

#if LK_USE_POOL_ATTENTION
/* AttentionPooling1D (A scoring units):
 *     u_t = tanh(x_t · W + b)   e_t = u_t · v   α = softmax of e over the real t   y = Σ α_t x_t
 * in one pass (the running maximum e* rescales the sums when a larger e_t comes). */
typedef struct {
    int C, A;
    const lk_w *W;  /* A × C: row a = W[:, a] */
    const float *s; /* int8: the scale of row a; float: null */
    const float *b; /* (A) */
    const float *v; /* (A) the context vector */
} lk_att;

static void lk_pool_att(const lk_att *p, const float *x, int n, const float *m, float *u,
                        float *y)
{
    float e_max = 0.0f, sum = 0.0f;
    int t, a, c, any = 0;
    lk_zero(y, p->C);
    for (t = 0; t < n; ++t) {
        const float *r = x + (long)t * p->C;
        float e = 0.0f, w;
        if (m && m[t] == 0.0f)
            continue;
        for (a = 0; a < p->A; ++a) /* u: scratch, A floats */
            u[a] = lk_tanhf(LK_SCALED(lk_dot(p->W + (long)a * p->C, r, p->C), p->s, a) + p->b[a]);
        for (a = 0; a < p->A; ++a)
            e += u[a] * p->v[a];
        if (!any || e > e_max) { /* a new maximum: Σ e^{e_t − e*} and y rescale */
            const float scale = any ? expf(e_max - e) : 0.0f;
            for (c = 0; c < p->C; ++c)
                y[c] *= scale;
            sum *= scale;
            e_max = e;
            any = 1;
        }
        w = expf(e - e_max);
        sum += w;
        for (c = 0; c < p->C; ++c)
            y[c] += w * r[c];
    }
    if (any)
        for (c = 0; c < p->C; ++c)
            y[c] /= sum;
}
#endif
/* ------------------------------------------------------------------- end of the runtime -- */
