/* ------------------------------------------------------------------------------------------
 * What the lstmkit jobs do around the network (pasted into model.c by lstmkit.io.export_c
 * when the model came with its job's metadata; {{P}} is the model's name).
 * ------------------------------------------------------------------------------------------ */

#if LK_JOB_LABELS
/* The class with the largest probability: y is the model's output (OUTPUT_SIZE) */
int {{P}}_argmax(const float *y)
{
    int k, best = 0;
    for (k = 1; k < {{PU}}_OUTPUT_SIZE; ++k)
        if (y[k] > y[best])
            best = k;
    return best;
}
#endif

#if LK_JOB_SCALER
/* The classify job's global standardisation of one raw time step (the training rows' μ, σ):
 *     x_f = (raw_f − μ_f) / σ_f,  f < RAW_FEATURES   (in double, as the job) */
void {{P}}_scale(const float *raw, float *x)
{
    int f;
    for (f = 0; f < {{PU}}_RAW_FEATURES; ++f)
        x[f] = (float)(((double)raw[f] - lk_scale_mean[f]) / lk_scale_std[f]);
}
#endif

#if LK_JOB_SERIES
/* ---- the classify job's series (lstmkit/apps/classify/series.py: normalise, encode_series) ----
 * raw: T rows of F = RAW_FEATURES values. Each row is normalised (NORMALIZE):
 *     1 sequence  x'_f = (x_f − μ_f) / σ_f with μ, σ of this sequence's whole feature f
 *                 (σ = 1 where σ ≤ 1e-8: a constant feature)
 *     2 global    x'_f = (x_f − μ_f) / σ_f with the training rows' μ, σ ({{P}}_scale)
 *     3 both      [sequence x' ; global x']: 2F values
 * then the last MAXLEN rows are kept and zero rows pad the front up to MAXLEN (a model that
 * starts with Masking skips them), and PATCH consecutive rows make one model step. */
#define LK_FP ({{PU}}_NORMALIZE == 3 ? 2 * {{PU}}_RAW_FEATURES : {{PU}}_RAW_FEATURES)

/* model step k (padded rows k·PATCH … k·PATCH + PATCH − 1; row i < n_pad is padding, row i ≥
 * n_pad is raw row first + i − n_pad) → x (INPUT_SIZE = PATCH · LK_FP floats) */
static void lk_cls_step(const float *raw, const double *mu, const double *sd, int first,
                        int n_pad, int k, float *x)
{
    int j, f;
    (void)mu;
    (void)sd;
    for (j = 0; j < {{PU}}_PATCH; ++j) {
        const int i = k * {{PU}}_PATCH + j;
        float *r = x + (long)j * LK_FP;
        const float *v;
        if (i < n_pad) {
            lk_zero(r, LK_FP);
            continue;
        }
        v = raw + (long)(first + i - n_pad) * {{PU}}_RAW_FEATURES;
#if {{PU}}_NORMALIZE & 1
        for (f = 0; f < {{PU}}_RAW_FEATURES; ++f)
            r[f] = (float)(((double)v[f] - mu[f]) / sd[f]);
#endif
#if {{PU}}_NORMALIZE & 2
        {{P}}_scale(v, r + ({{PU}}_NORMALIZE == 3 ? {{PU}}_RAW_FEATURES : 0));
#endif
        (void)f;
    }
}

/* Classify one sequence as `lstmkit classify predict` does (normalise, cut / pad to MAXLEN,
 * patch, run from fresh states; MAXLEN 0: as it comes).  Returns the class id, or −1. */
int {{P}}_classify({{P}}_state *s, const float *raw, int T, float *probs)
{
    double mu[{{PU}}_RAW_FEATURES], sd[{{PU}}_RAW_FEATURES];
    int k, first = 0, n_real = T, n_pad = 0, steps;
#if {{PU}}_CAN_STREAM
    float x[{{PU}}_INPUT_SIZE];
#endif
    if (T < 1)
        return -1;
#if {{PU}}_MAXLEN > 0
    if (n_real > {{PU}}_MAXLEN) {
        first = n_real - {{PU}}_MAXLEN;
        n_real = {{PU}}_MAXLEN;
    }
    n_pad = {{PU}}_MAXLEN - n_real;
#endif
    steps = (n_pad + n_real) / {{PU}}_PATCH; /* MAXLEN is a multiple of PATCH */
    for (k = 0; k < {{PU}}_RAW_FEATURES; ++k) {
        mu[k] = 0.0;
        sd[k] = 1.0;
    }
#if {{PU}}_NORMALIZE & 1
    { /* μ, σ of each feature over the whole sequence (before the cut), in double */
        int t;
        for (t = 0; t < T; ++t)
            for (k = 0; k < {{PU}}_RAW_FEATURES; ++k)
                mu[k] += (double)raw[(long)t * {{PU}}_RAW_FEATURES + k];
        for (k = 0; k < {{PU}}_RAW_FEATURES; ++k) {
            double v = 0.0, d;
            mu[k] /= (double)T;
            for (t = 0; t < T; ++t) {
                d = (double)raw[(long)t * {{PU}}_RAW_FEATURES + k] - mu[k];
                v += d * d;
            }
            v = sqrt(v / (double)T);
            sd[k] = v > 1e-8 ? v : 1.0;
        }
    }
#endif
#if {{PU}}_CAN_STREAM
    {{P}}_reset(s);
    for (k = 0; k < steps; ++k) {
        lk_cls_step(raw, mu, sd, first, n_pad, k, x);
        {{P}}_step(s, x, k == steps - 1 ? probs : 0);
    }
#else
    for (k = 0; k < steps; ++k)
        lk_cls_step(raw, mu, sd, first, n_pad, k, s->cls_x + (long)k * {{PU}}_INPUT_SIZE);
    if ({{P}}_run(s, s->cls_x, steps, probs, s->cls_work) != 0)
        return -1;
#endif
    return {{P}}_argmax(probs);
}
#endif

#if LK_JOB_IDS_CLASSIFY
/* Classify a text given as word ids (the ids of the vocabulary in model.json; 1 = unknown),
 * as `lstmkit classify predict` does: the first MAXLEN ids (0: all), from fresh states.  The padding
 * id 0 is masked, so no padding is needed.  Returns the class id, or −1 on a bad id. */
int {{P}}_classify({{P}}_state *s, const int *ids, int T, float *probs)
{
    int t, n = T;
#if {{PU}}_MAXLEN > 0
    if (n > {{PU}}_MAXLEN)
        n = {{PU}}_MAXLEN;
#endif
    if (n < 1)
        return -1;
#if {{PU}}_CAN_STREAM
    {{P}}_reset(s);
    for (t = 0; t < n; ++t)
        if ({{P}}_step(s, ids[t], t == n - 1 ? probs : 0) != 0)
            return -1;
#else /* a pooling or Bidirectional model: run, with the work memory in the state */
    (void)t;
    if ({{P}}_run(s, ids, n, probs, s->cls_work) != 0)
        return -1;
#endif
    return {{P}}_argmax(probs);
}
#endif

#if LK_JOB_FORECAST
/* ---- the forecast job (lstmkit/apps/forecast/net.py: make_windows, to_levels) ----
 * The series goes through (transforms.py, fitted by the job on the series it was given):
 *     w_k = log y_k  (LOG 1)  or  y_k             k: the row, counted from the series' first
 *     z_k = w_k − s_{k mod m}                     m = SEASON seasonal indices (0: none)
 * From the origin t (the last value given) the LSTM reads L = LOOKBACK steps j = t−L+1 … t
 *     x_j = [(Δz_j − μ)/σ,  (z_j − z_t)/(σ√L),  (cov_j − μ_c)/σ_c,  (fut_j − μ_f)/σ_f,  0]
 * (Δz_j = z_j − z_{j−1}: that needs y_{t−L}, so y holds L + 1 values) and, with future-known
 * covariates, H = HORIZON more steps j = t+1 … t+H
 *     x_j = [0,  0,  0 …,  (fut_j − μ_f)/σ_f,  1]
 * Its H outputs are the levels
 *     ẑ_{t+h} = z_t + h·μ + σ·out_h,    ŷ_{t+h} = exp / id (ẑ_{t+h} + s_{(t+h) mod m}).
 * The arithmetic is in double as in the job; only x goes to float for the network. */

/* z_k of the raw value v at row k (the season and the log of the job's Prep) */
static double lk_fc_z(double v, long k)
{
    double w = {{PU}}_LOG ? log(v) : v;
#if {{PU}}_SEASON
    w -= lk_fc_season[k % {{PU}}_SEASON];
#else
    (void)k;
#endif
    return w;
}

/* The next HORIZON values after y_t.  Returns 0, or −1 (out untouched) when a value cannot
 * be transformed (LOG 1 and y ≤ 0) or, for a seasonal model, t < LOOKBACK (the rows of the
 * window must be rows of the series: t counts from its first row). */
int {{P}}_forecast({{P}}_state *s, const double *y, long t,
    const double *cov, const double *fut, double *out)
{
    enum { L = {{PU}}_LOOKBACK, Cp = {{PU}}_COVARIATES, Cf = {{PU}}_FUTURE_COVARIATES };
    float x[{{PU}}_INPUT_SIZE], pred[{{PU}}_OUTPUT_SIZE];
    const double scale = lk_fc_sigma * sqrt((double)L); /* σ√L */
    double z_t, z_prev, z_j;
    int j, c, h;
    if ({{PU}}_SEASON && t < L)
        return -1;
    for (j = 0; j <= L; ++j)
        if ({{PU}}_LOG && !(y[j] > 0.0))
            return -1;
    (void)cov;
    (void)fut;
    z_t = lk_fc_z(y[L], t);
    z_prev = lk_fc_z(y[0], t - L);
    {{P}}_reset(s);
    for (j = 1; j <= L; ++j) { /* y[j] = y_{t−L+j} */
        z_j = lk_fc_z(y[j], t - L + j);
        x[0] = (float)((z_j - z_prev - lk_fc_mu) / lk_fc_sigma);
        x[1] = (float)((z_j - z_t) / scale);
#if {{PU}}_COVARIATES
        for (c = 0; c < Cp; ++c)
            x[2 + c] = (float)((cov[(long)(j - 1) * Cp + c] - lk_cov_mean[c]) / lk_cov_std[c]);
#endif
#if {{PU}}_FUTURE_COVARIATES
        for (c = 0; c < Cf; ++c)
            x[2 + Cp + c] = (float)((fut[(long)(j - 1) * Cf + c] - lk_fut_mean[c]) / lk_fut_std[c]);
        x[2 + Cp + Cf] = 0.0f;
#endif
        {{P}}_step(s, x, j == L && !Cf ? pred : 0);
        z_prev = z_j;
    }
#if {{PU}}_FUTURE_COVARIATES
    for (h = 1; h <= {{PU}}_HORIZON; ++h) { /* the future steps t+1 … t+H */
        for (c = 0; c < 2 + Cp; ++c)
            x[c] = 0.0f;
        for (c = 0; c < Cf; ++c)
            x[2 + Cp + c] =
                (float)((fut[(long)(L + h - 1) * Cf + c] - lk_fut_mean[c]) / lk_fut_std[c]);
        x[2 + Cp + Cf] = 1.0f;
        {{P}}_step(s, x, h == {{PU}}_HORIZON ? pred : 0);
    }
#endif
    for (h = 1; h <= {{PU}}_HORIZON; ++h) {
        double w = z_t + h * lk_fc_mu + lk_fc_sigma * (double)pred[h - 1]; /* ẑ_{t+h} */
#if {{PU}}_SEASON
        w += lk_fc_season[(t + h) % {{PU}}_SEASON];
#endif
#if {{PU}}_LOG
        w = exp(w < -700.0 ? -700.0 : w > 700.0 ? 700.0 : w); /* as the job: clipped */
#endif
        out[h - 1] = w;
    }
    (void)c;
    return 0;
}
#endif

#if LK_JOB_TEXTGEN
/* ---- text generation: the textgen job's vocabulary and sampling loop ---- */

/* The id of the vocabulary token (one character, UTF-8) that s starts with, its length in
 * bytes in *nbytes; −1 when no token matches. */
int {{P}}_token_id(const char *s, int *nbytes)
{
    int v, k;
    for (v = 0; v < {{PU}}_VOCAB_SIZE; ++v) {
        const char *tok = {{P}}_tokens[v];
        for (k = 0; tok[k] != '\0' && s[k] == tok[k]; ++k)
            ;
        if (tok[k] == '\0' && k > 0) {
            *nbytes = k;
            return v;
        }
    }
    return -1;
}

/* A uniform number in [0, 1) from xorshift32 (Marsaglia 2003); *rng is its state (any seed) */
static float lk_uniform(unsigned long *rng)
{
    unsigned long r = *rng & 0xFFFFFFFFUL;
    if (r == 0)
        r = 0x9E3779B9UL;
    r ^= (r << 13) & 0xFFFFFFFFUL;
    r ^= r >> 17;
    r ^= (r << 5) & 0xFFFFFFFFUL;
    *rng = r;
    return (float)(r >> 8) * (1.0f / 16777216.0f);
}

/* Draw an id from the probabilities p (VOCAB_SIZE) at temperature τ, as textgen sample:
 *     p_τ(v) ∝ p(v)^{1/τ} = exp((log p(v) − log max p) / τ)         (p clamped at 1e−30)
 * τ ≤ 0 picks the most probable id (greedy). */
int {{P}}_sample(const float *p, float temperature, unsigned long *rng)
{
    float top = 1e-30f, sum = 0.0f, u;
    int v, best = 0;
    for (v = 0; v < {{PU}}_VOCAB_SIZE; ++v)
        if (p[v] > top) {
            top = p[v];
            best = v;
        }
    if (temperature <= 0.0f)
        return best;
    for (v = 0; v < {{PU}}_VOCAB_SIZE; ++v)
        sum += expf(logf((p[v] > 1e-30f ? p[v] : 1e-30f) / top) / temperature);
    u = lk_uniform(rng) * sum;
    for (v = 0; v < {{PU}}_VOCAB_SIZE; ++v) {
        u -= expf(logf((p[v] > 1e-30f ? p[v] : 1e-30f) / top) / temperature);
        if (u < 0.0f)
            return v;
    }
    return best; /* u was (within rounding) the whole sum */
}

/* Generate text as `lstmkit textgen sample` does: feed the prime from fresh states, then draw
 * n tokens, each fed back as the next input.  Writes UTF-8 text into out (at most
 * out_size − 1 bytes and a NUL).  Returns the number of tokens written, or −1 when the prime
 * is empty or holds a character the vocabulary lacks. */
int {{P}}_generate({{P}}_state *s, const char *prime, int n, float temperature,
                   unsigned long *rng, char *out, int out_size)
{
    float p[{{PU}}_OUTPUT_SIZE];
    int id, nb, k, len = 0, drawn;
    if (!prime || !*prime || out_size < 1)
        return -1;
    {{P}}_reset(s);
    while (*prime) {
        id = {{P}}_token_id(prime, &nb);
        if (id < 0)
            return -1;
        {{P}}_step(s, id, p);
        prime += nb;
    }
    for (drawn = 0; drawn < n; ++drawn) {
        const char *tok;
        id = {{P}}_sample(p, temperature, rng);
        tok = {{P}}_tokens[id];
        for (k = 0; tok[k] != '\0'; ++k)
            ;
        if (len + k >= out_size)
            break;
        for (k = 0; tok[k] != '\0'; ++k)
            out[len++] = tok[k];
        {{P}}_step(s, id, p);
    }
    out[len] = '\0';
    return drawn;
}
#endif
