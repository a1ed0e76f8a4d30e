// demucs' DConv residual branch, every layer in three steps over its input (dconv.py says why). A layer:
//
//   x = x + scale * GLU(GroupNorm(conv_k1(GELU(GroupNorm(conv_dilated(x))))))
//
// x is (rows, channels, time), time contiguous (the frequency branch's rows are its frequencies, each a
// sequence of its own). Each row is one group-norm instance over its channels and time. The steps, on a
// stretch of a row:
//   1. the dilated convolution into `hidden` (an eighth of the channels), with its sum and sum of squares;
//   2. the first norm and GELU in place on `hidden`, then the 1x1 convolution, kept only for its sum and
//      sum of squares;
//   3. the 1x1 convolution again, the second norm, GLU, the scale and the residual, written once.
// Short rows go whole through every layer in one thread (by_rows); long ones are cut into tiles, each step
// over all of them before the next (by_tiles). Either way a row's sums are added in a fixed order, so the
// result does not depend on how many threads ran.

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define CPU_CAPABILITY_AVX512
#define CPU_CAPABILITY AVX512
#elif defined(__AVX2__) && defined(__FMA__)
#define CPU_CAPABILITY_AVX2
#define CPU_CAPABILITY AVX2
#else
#define CPU_CAPABILITY DEFAULT
#endif

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kLanes = Vec::size();
constexpr int64_t kTile = 512;
constexpr int kBlock = 8;

struct Moments {
  double sum = 0, squares = 0;

  Moments& operator+=(const Moments& other) {
    sum += other.sum;
    squares += other.squares;
    return *this;
  }
};

// Sum and sum of squares of n floats, accumulated in float lanes and added in double.
Moments moments(const float* p, int64_t n) {
  Vec sum(0), squares(0);
  int64_t t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    Vec v = Vec::loadu(p + t);
    sum = sum + v;
    squares = at::vec::fmadd(v, v, squares);
  }
  Moments m;
  if (t < n) {
    Vec v = Vec::loadu(p + t, n - t);
    sum = sum + v;
    squares = at::vec::fmadd(v, v, squares);
  }
  float lanes[kLanes], squared[kLanes];
  sum.store(lanes);
  squares.store(squared);
  for (int64_t i = 0; i < kLanes; ++i) {
    m.sum += lanes[i];
    m.squares += squared[i];
  }
  return m;
}

// out[o][t] = bias[o] + sum over c < inputs, k < taps of weight[(o * inputs + c) * taps + k] * in[c * stride
// + k * dilation + t], for NB outputs from `first` and t < width.
template <int NB>
void project(const float* weight, const float* bias, int64_t first, int64_t inputs, int64_t taps, const float* in,
             int64_t stride, int64_t dilation, int64_t width, float* out, int64_t out_stride) {
  for (int64_t t = 0; t < width; t += kLanes) {
    const int64_t count = std::min(kLanes, width - t);
    Vec acc[NB];
    for (int i = 0; i < NB; ++i) acc[i] = Vec(bias[first + i]);
    for (int64_t c = 0; c < inputs; ++c) {
      for (int64_t k = 0; k < taps; ++k) {
        const Vec v = Vec::loadu(in + c * stride + k * dilation + t, count);
        const float* w = weight + (first * inputs + c) * taps + k;
        for (int i = 0; i < NB; ++i) acc[i] = at::vec::fmadd(Vec(w[i * inputs * taps]), v, acc[i]);
      }
    }
    for (int i = 0; i < NB; ++i) acc[i].store(out + i * out_stride + t, count);
  }
}

using Projection = void (*)(const float*, const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                            int64_t, float*, int64_t);
constexpr Projection kProjections[kBlock + 1] = {nullptr, project<1>, project<2>, project<3>, project<4>,
                                                 project<5>, project<6>, project<7>, project<8>};

// Outputs [first, first + count) of the projection, kBlock at a time; output o - first at out + o * out_stride.
void project_all(const float* weight, const float* bias, int64_t first, int64_t count, int64_t inputs, int64_t taps,
                 const float* in, int64_t stride, int64_t dilation, int64_t width, float* out, int64_t out_stride) {
  for (int64_t o = 0; o < count; o += kBlock) {
    const int64_t block = std::min<int64_t>(kBlock, count - o);
    kProjections[block](weight, bias, first + o, inputs, taps, in, stride, dilation, width, out + o * out_stride,
                        out_stride);
  }
}

// GroupNorm's affine form per channel: x * a + b, with a = rstd * gamma, b = beta - a * mean.
void normalise(float* p, int64_t n, float a, float b) {
  const Vec va(a), vb(b);
  for (int64_t t = 0; t < n; t += kLanes) {
    const int64_t count = std::min(kLanes, n - t);
    at::vec::fmadd(Vec::loadu(p + t, count), va, vb).store(p + t, count);
  }
}

// GELU without approximation, as PyTorch's CPU kernel computes it: x / 2 * (1 + erf(x / sqrt 2)).
void gelu(float* p, int64_t n) {
  const Vec half(0.5f), one(1.0f), alpha(static_cast<float>(M_SQRT1_2));
  for (int64_t t = 0; t < n; t += kLanes) {
    const int64_t count = std::min(kLanes, n - t);
    const Vec x = Vec::loadu(p + t, count);
    (x * half * (one + (x * alpha).erf())).store(p + t, count);
  }
}

struct Layer {
  const float *w1, *b1, *n1w, *n1b, *w2, *b2, *n2w, *n2b, *scale;
  int64_t channels, hidden, taps, dilation, padding;
  double eps1, eps2;
};

// Rows of a (rows, channels, time) tensor, time contiguous: where row n's channel 0 starts.
struct Rows {
  float* data;
  int64_t row_stride, channel_stride;

  float* row(int64_t n) const { return data + n * row_stride; }
};

struct Stats {
  float mean, rstd;
};

Stats stats(Moments total, double count, double eps) {
  const double mean = total.sum / count;
  const double variance = std::max(total.squares / count - mean * mean, 0.0);
  return {static_cast<float>(mean), static_cast<float>(1.0 / std::sqrt(variance + eps))};
}

// Per-thread buffers of the three steps, grown as needed and kept.
struct Scratch {
  std::vector<float> padded, block, hidden, rows[2];

  static Scratch& mine() {
    thread_local Scratch scratch;
    return scratch;
  }
};

// Step 1 on samples [t0, t0 + span) of a row (channels `stride` apart): the dilated convolution into h
// (hidden channels `h_stride` apart); its moments.
Moments convolve(const Layer& L, const float* in, int64_t stride, int64_t time, int64_t t0, int64_t span, float* h,
                 int64_t h_stride, Scratch& scratch) {
  const int64_t C = L.channels, reach = L.dilation * (L.taps - 1), length = span + reach;
  const int64_t from = t0 - L.padding;  // the zero-padded input's first sample for this tile
  const int64_t lo = std::clamp<int64_t>(-from, 0, length), hi = std::clamp<int64_t>(time - from, lo, length);
  scratch.padded.resize(C * length);
  for (int64_t c = 0; c < C; ++c) {
    float* p = scratch.padded.data() + c * length;
    std::fill(p, p + lo, 0.0f);
    std::copy(in + c * stride + from + lo, in + c * stride + from + hi, p + lo);
    std::fill(p + hi, p + length, 0.0f);
  }
  project_all(L.w1, L.b1, 0, L.hidden, C, L.taps, scratch.padded.data(), length, L.dilation, span, h, h_stride);
  Moments m;
  for (int64_t j = 0; j < L.hidden; ++j) {
    m += moments(h + j * h_stride, span);
  }
  return m;
}

// Step 2: the first norm and GELU on h in place; the moments of its 1x1 convolution.
Moments activate(const Layer& L, Stats norm, float* h, int64_t h_stride, int64_t span, Scratch& scratch) {
  for (int64_t j = 0; j < L.hidden; ++j) {
    const float a = norm.rstd * L.n1w[j];
    normalise(h + j * h_stride, span, a, L.n1b[j] - a * norm.mean);
    gelu(h + j * h_stride, span);
  }
  scratch.block.resize(kBlock * span);
  Moments m;
  for (int64_t o = 0; o < 2 * L.channels; o += kBlock) {
    const int64_t count = std::min<int64_t>(kBlock, 2 * L.channels - o);
    project_all(L.w2, L.b2, o, count, L.hidden, 1, h, h_stride, 0, span, scratch.block.data(), span);
    for (int64_t i = 0; i < count; ++i) {
      m += moments(scratch.block.data() + i * span, span);
    }
  }
  return m;
}

// Step 3: the 1x1 convolution again, the second norm, GLU, the scale and the residual, into out.
void emit(const Layer& L, Stats norm, const float* h, int64_t h_stride, const float* in, int64_t in_stride,
          float* out, int64_t out_stride, int64_t span, Scratch& scratch) {
  const int64_t C = L.channels;
  const Vec one(1.0f);
  scratch.block.resize(2 * kBlock * span);
  float* values = scratch.block.data();
  float* keys = values + kBlock * span;
  for (int64_t c = 0; c < C; c += kBlock) {
    const int64_t count = std::min<int64_t>(kBlock, C - c);
    project_all(L.w2, L.b2, c, count, L.hidden, 1, h, h_stride, 0, span, values, span);
    project_all(L.w2, L.b2, C + c, count, L.hidden, 1, h, h_stride, 0, span, keys, span);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t a = c + i, b = C + c + i;
      const float sa = norm.rstd * L.n2w[a], sb = norm.rstd * L.n2w[b];
      const Vec va(sa), ba(L.n2b[a] - sa * norm.mean), vb(sb), bb(L.n2b[b] - sb * norm.mean), scale(L.scale[a]);
      const float* src = in + a * in_stride;
      float* dst = out + a * out_stride;
      for (int64_t t = 0; t < span; t += kLanes) {
        const int64_t k = std::min(kLanes, span - t);
        const Vec value = at::vec::fmadd(Vec::loadu(values + i * span + t, k), va, ba);
        const Vec gate = at::vec::fmadd(Vec::loadu(keys + i * span + t, k), vb, bb);
        const Vec glu = value * (one / (one + gate.neg().exp()));
        (Vec::loadu(src + t, k) + scale * glu).store(dst + t, k);
      }
    }
  }
}

// Short rows (the frequency branch's): each thread takes whole rows through every layer, the row and its
// intermediates staying in its cache; one read of x and one write of y.
void by_rows(const std::vector<Layer>& layers, const Rows& x, const Rows& y, int64_t rows, int64_t time) {
  const int64_t C = layers[0].channels, H = layers[0].hidden;
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    Scratch& scratch = Scratch::mine();
    scratch.hidden.resize(H * time);
    for (auto& row : scratch.rows) row.resize(C * time);
    for (int64_t n = begin; n < end; ++n) {
      const float* in = x.row(n);
      int64_t in_stride = x.channel_stride;
      for (size_t l = 0; l < layers.size(); ++l) {
        const Layer& L = layers[l];
        const bool last = l + 1 == layers.size();
        float* out = last ? y.row(n) : scratch.rows[l % 2].data();
        const int64_t out_stride = last ? y.channel_stride : time;
        float* h = scratch.hidden.data();
        const Stats norm1 = stats(convolve(L, in, in_stride, time, 0, time, h, time, scratch), H * time, L.eps1);
        const Stats norm2 = stats(activate(L, norm1, h, time, time, scratch), 2 * C * time, L.eps2);
        emit(L, norm2, h, time, in, in_stride, out, out_stride, time, scratch);
        in = out;
        in_stride = out_stride;
      }
    }
  });
}

// Long rows (the time branch's): one layer at a time, each step over (row, tile) items in parallel, per-tile
// moments added per row in a fixed order (double precision) between steps; `hidden` is (rows, H, time).
void by_tiles(const Layer& L, const Rows& x, const Rows& y, int64_t rows, int64_t time) {
  const int64_t H = L.hidden, tiles = (time + kTile - 1) / kTile, width = (time + tiles - 1) / tiles;
  const int64_t items = rows * tiles;
  at::Tensor buffer = at::empty({rows, H, time}, at::TensorOptions().dtype(at::kFloat));
  float* const hidden = buffer.data_ptr<float>();
  std::vector<Moments> moments_of(items);
  std::vector<Stats> norm(rows);
  auto each = [&](auto step) {
    at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
      Scratch& scratch = Scratch::mine();
      for (int64_t item = begin; item < end; ++item) {
        const int64_t n = item / tiles, t0 = item % tiles * width;
        moments_of[item] = step(n, t0, std::min(width, time - t0), hidden + n * H * time + t0, scratch);
      }
    });
  };
  auto reduce = [&](double count, double eps) {
    for (int64_t n = 0; n < rows; ++n) {
      Moments total;
      for (int64_t i = 0; i < tiles; ++i) total += moments_of[n * tiles + i];
      norm[n] = stats(total, count, eps);
    }
  };
  each([&](int64_t n, int64_t t0, int64_t span, float* h, Scratch& scratch) {
    return convolve(L, x.row(n), x.channel_stride, time, t0, span, h, time, scratch);
  });
  reduce(static_cast<double>(H * time), L.eps1);
  each([&](int64_t n, int64_t, int64_t span, float* h, Scratch& scratch) {
    return activate(L, norm[n], h, time, span, scratch);
  });
  reduce(static_cast<double>(2 * L.channels * time), L.eps2);
  each([&](int64_t n, int64_t t0, int64_t span, float* h, Scratch& scratch) {
    emit(L, norm[n], h, time, x.row(n) + t0, x.channel_stride, y.row(n) + t0, y.channel_stride, span, scratch);
    return Moments{};
  });
}

Rows rows_of(const at::Tensor& t) { return {t.data_ptr<float>(), t.stride(0), t.stride(1)}; }

// Channel-major (rows, channels, time), so that demucs' view of the rows as (batch, frequency, channels,
// time), permuted to (batch, channels, frequency, time), is contiguous for the convolution that follows.
at::Tensor channel_major(int64_t rows, int64_t channels, int64_t time) {
  return at::empty({channels, rows, time}, at::TensorOptions().dtype(at::kFloat)).permute({1, 0, 2});
}

at::Tensor dconv(const at::Tensor& input, at::TensorList parameters, at::IntArrayRef dilations, at::ArrayRef<double> eps) {
  TORCH_CHECK(input.device().is_cpu() && input.scalar_type() == at::kFloat && input.dim() == 3,
              "dconv: (rows, channels, time), float32 on the CPU");
  const int64_t depth = static_cast<int64_t>(dilations.size());
  TORCH_CHECK(depth > 0 && static_cast<int64_t>(parameters.size()) == 9 * depth &&
              static_cast<int64_t>(eps.size()) == 2 * depth, "dconv: 9 parameters and 2 eps per layer");
  const at::Tensor x = input.stride(-1) == 1 ? input : input.contiguous();
  const int64_t rows = x.size(0), C = x.size(1), time = x.size(2);
  std::vector<at::Tensor> kept;
  std::vector<Layer> layers;
  for (int64_t l = 0; l < depth; ++l) {
    const float* p[9];
    for (int i = 0; i < 9; ++i) {
      kept.push_back(parameters[9 * l + i].contiguous());
      TORCH_CHECK(kept.back().scalar_type() == at::kFloat && kept.back().device().is_cpu(), "dconv: float32 weights");
      p[i] = kept.back().data_ptr<float>();
    }
    const at::Tensor& w1 = kept[9 * l];
    const at::Tensor& w2 = kept[9 * l + 4];
    const int64_t H = w1.size(0), taps = w1.size(2);
    TORCH_CHECK(w1.size(1) == C && w2.size(0) == 2 * C && w2.size(1) == H && kept[9 * l + 8].numel() == C &&
                taps % 2 == 1, "dconv: weights of another shape");
    layers.push_back({p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], C, H, taps, dilations[l],
                      dilations[l] * (taps / 2), eps[2 * l], eps[2 * l + 1]});
  }
  at::Tensor y = channel_major(rows, C, time);
  if (time <= kTile) {
    by_rows(layers, rows_of(x), rows_of(y), rows, time);
    return y;
  }
  at::Tensor current = x;
  for (int64_t l = 0; l < depth; ++l) {
    at::Tensor next = l + 1 == depth ? y : channel_major(rows, C, time);
    by_tiles(layers[l], rows_of(current), rows_of(next), rows, time);
    current = next;
  }
  return y;
}

}  // namespace

TORCH_LIBRARY(sfa, m) {
  m.def("dconv(Tensor x, Tensor[] parameters, int[] dilations, float[] eps) -> Tensor");
  m.impl("dconv", c10::DispatchKey::CPU, TORCH_FN(dconv));
}
