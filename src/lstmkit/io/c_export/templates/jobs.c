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
/* The classify job's standardisation of one time step:  x_f = (raw_f − μ_f) / σ_f */
void {{P}}_scale(const float *raw, float *x)
{
    int f;
    for (f = 0; f < {{PU}}_INPUT_SIZE; ++f)
        x[f] = (raw[f] - lk_scale_mean[f]) / lk_scale_std[f];
}

/* Classify one sequence as `lstmkit classify predict` does: standardise each step, keep the
 * last MAXLEN steps and pad the front with zero steps up to MAXLEN (what the model was trained
 * on; MAXLEN 0: as it comes), run from fresh states.  raw: T × INPUT_SIZE raw feature rows,
 * probs: OUTPUT_SIZE.  Returns the class id, or −1 for an empty sequence without padding. */
int {{P}}_classify({{P}}_state *s, const float *raw, int T, float *probs)
{
    float x[{{PU}}_INPUT_SIZE];
    int k, first = 0, n_real = T < 0 ? 0 : T, n_pad = 0;
#if {{PU}}_MAXLEN > 0
    if (n_real > {{PU}}_MAXLEN) {
        first = n_real - {{PU}}_MAXLEN;
        n_real = {{PU}}_MAXLEN;
    }
    n_pad = {{PU}}_MAXLEN - n_real;
#endif
    if (n_pad + n_real == 0)
        return -1;
    {{P}}_reset(s);
    for (k = 0; k < n_pad + n_real; ++k) {
        if (k < n_pad)
            lk_zero(x, {{PU}}_INPUT_SIZE); /* padding: zero in the standardised space */
        else
            {{P}}_scale(raw + (long)(first + k - n_pad) * {{PU}}_INPUT_SIZE, x);
        {{P}}_step(s, x, k == n_pad + n_real - 1 ? probs : 0);
    }
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
    {{P}}_reset(s);
    for (t = 0; t < n; ++t)
        if ({{P}}_step(s, ids[t], t == n - 1 ? probs : 0) != 0)
            return -1;
    return {{P}}_argmax(probs);
}
#endif

#if LK_JOB_FORECAST
/* The forecast job: from the last LOOKBACK + 1 values y (oldest first) and, with covariates,
 * the last LOOKBACK rows of them (COVARIATES each, raw), the next HORIZON values:
 *     d_s = y_s − y_{s−1}                          x_s = [(d_s − μ)/σ, (cov_s − μ_c)/σ_c]
 *     ŷ_{t+h} = y_t + h·μ + σ · LSTM(x)_h          h = 1 … HORIZON
 * (μ, σ: mean and spread of the training differences; doubles, as the job computes them). */
void {{P}}_forecast({{P}}_state *s, const double *y, const double *cov, double *out)
{
    float x[{{PU}}_INPUT_SIZE], pred[{{PU}}_OUTPUT_SIZE];
    int t, h;
    {{P}}_reset(s);
    for (t = 1; t <= {{PU}}_LOOKBACK; ++t) {
        x[0] = (float)((y[t] - y[t - 1] - lk_diff_mean) / lk_diff_std);
#if {{PU}}_COVARIATES
        for (h = 0; h < {{PU}}_COVARIATES; ++h)
            x[1 + h] =
                (float)((cov[(long)(t - 1) * {{PU}}_COVARIATES + h] - lk_cov_mean[h]) / lk_cov_std[h]);
#else
        (void)cov;
#endif
        {{P}}_step(s, x, t == {{PU}}_LOOKBACK ? pred : 0);
    }
    for (h = 0; h < {{PU}}_HORIZON; ++h)
        out[h] = y[{{PU}}_LOOKBACK] + (h + 1) * lk_diff_mean + lk_diff_std * (double)pred[h];
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
