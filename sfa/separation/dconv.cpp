// One layer of demucs' DConv residual branch in three passes over its input (dconv.py says why).
//
//   y = x + scale * GLU(GroupNorm(conv_k1(GELU(GroupNorm(conv_dilated(x))))))
//
// x is (rows, channels, time), time contiguous (the frequency branch's rows are its frequencies, each a
// sequence of its own). Each row is one group-norm instance over its channels and time. Work is split into
// (row, time tile) items:
//   1. the dilated convolution of each tile into `hidden` ((rows, hidden, time), an eighth of x), with its
//      sum and sum of squares per tile;
//   2. the first norm and GELU in place on `hidden`, then the 1x1 convolution of each tile, kept only for
//      its sum and sum of squares;
//   3. the 1x1 convolution again, the second norm, GLU, the scale and the residual, written once.
// Per-tile sums are added per row in a fixed order (double precision), so the result does not depend on
// how many threads ran.

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

std::vector<Stats> reduce(const std::vector<Moments>& tiles, int64_t rows, int64_t per_row, double count, double eps) {
  std::vector<Stats> stats(rows);
  for (int64_t n = 0; n < rows; ++n) {
    Moments total;
    for (int64_t i = 0; i < per_row; ++i) {
      total.sum += tiles[n * per_row + i].sum;
      total.squares += tiles[n * per_row + i].squares;
    }
    const double mean = total.sum / count;
    const double variance = std::max(total.squares / count - mean * mean, 0.0);
    stats[n] = {static_cast<float>(mean), static_cast<float>(1.0 / std::sqrt(variance + eps))};
  }
  return stats;
}

void layer(const Layer& L, const Rows& x, const Rows& y, int64_t rows, int64_t time) {
  const int64_t C = L.channels, H = L.hidden, tiles = (time + kTile - 1) / kTile;
  const int64_t width = (time + tiles - 1) / tiles;
  const int64_t reach = L.dilation * (L.taps - 1);
  const int64_t items = rows * tiles;
  at::Tensor buffer = at::empty({rows, H, time}, at::TensorOptions().dtype(at::kFloat));
  float* const hidden = buffer.data_ptr<float>();
  std::vector<Moments> first(items), second(items);

  at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> padded;
    padded.resize(C * (width + reach));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / tiles, t0 = item % tiles * width, span = std::min(width, time - t0);
      const float* in = x.row(n);
      const int64_t from = t0 - L.padding;  // the zero-padded input's first sample for this tile
      const int64_t length = span + reach;
      const int64_t lo = std::clamp<int64_t>(-from, 0, length), hi = std::clamp<int64_t>(time - from, lo, length);
      for (int64_t c = 0; c < C; ++c) {
        float* p = padded.data() + c * (width + reach);
        std::fill(p, p + lo, 0.0f);
        std::copy(in + c * x.channel_stride + from + lo, in + c * x.channel_stride + from + hi, p + lo);
        std::fill(p + hi, p + length, 0.0f);
      }
      float* h = hidden + n * H * time + t0;
      project_all(L.w1, L.b1, 0, H, C, L.taps, padded.data(), width + reach, L.dilation, span, h, time);
      Moments m;
      for (int64_t j = 0; j < H; ++j) {
        const Moments part = moments(h + j * time, span);
        m.sum += part.sum;
        m.squares += part.squares;
      }
      first[item] = m;
    }
  });
  const std::vector<Stats> norm1 = reduce(first, rows, tiles, static_cast<double>(H * time), L.eps1);

  at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> block;
    block.resize(kBlock * width);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / tiles, t0 = item % tiles * width, span = std::min(width, time - t0);
      float* h = hidden + n * H * time + t0;
      for (int64_t j = 0; j < H; ++j) {
        const float a = norm1[n].rstd * L.n1w[j];
        normalise(h + j * time, span, a, L.n1b[j] - a * norm1[n].mean);
        gelu(h + j * time, span);
      }
      Moments m;
      for (int64_t o = 0; o < 2 * C; o += kBlock) {
        const int64_t count = std::min<int64_t>(kBlock, 2 * C - o);
        project_all(L.w2, L.b2, o, count, H, 1, h, time, 0, span, block.data(), width);
        for (int64_t i = 0; i < count; ++i) {
          const Moments part = moments(block.data() + i * width, span);
          m.sum += part.sum;
          m.squares += part.squares;
        }
      }
      second[item] = m;
    }
  });
  const std::vector<Stats> norm2 = reduce(second, rows, tiles, static_cast<double>(2 * C * time), L.eps2);

  at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> gates;
    gates.resize(2 * kBlock * width);
    const Vec one(1.0f);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / tiles, t0 = item % tiles * width, span = std::min(width, time - t0);
      const float* h = hidden + n * H * time + t0;
      const float* in = x.row(n) + t0;
      float* out = y.row(n) + t0;
      for (int64_t c = 0; c < C; c += kBlock) {
        const int64_t count = std::min<int64_t>(kBlock, C - c);
        float* values = gates.data();
        float* keys = gates.data() + kBlock * width;
        project_all(L.w2, L.b2, c, count, H, 1, h, time, 0, span, values, width);
        project_all(L.w2, L.b2, C + c, count, H, 1, h, time, 0, span, keys, width);
        for (int64_t i = 0; i < count; ++i) {
          const int64_t a = c + i, b = C + c + i;
          const float sa = norm2[n].rstd * L.n2w[a], sb = norm2[n].rstd * L.n2w[b];
          const Vec va(sa), ba(L.n2b[a] - sa * norm2[n].mean), vb(sb), bb(L.n2b[b] - sb * norm2[n].mean);
          const Vec scale(L.scale[a]);
          const float* src = in + a * x.channel_stride;
          float* dst = out + a * y.channel_stride;
          for (int64_t t = 0; t < span; t += kLanes) {
            const int64_t k = std::min(kLanes, span - t);
            const Vec value = at::vec::fmadd(Vec::loadu(values + i * width + t, k), va, ba);
            const Vec gate = at::vec::fmadd(Vec::loadu(keys + i * width + t, k), vb, bb);
            const Vec glu = value * (one / (one + gate.neg().exp()));
            (Vec::loadu(src + t, k) + scale * glu).store(dst + t, k);
          }
        }
      }
    }
  });
}

Rows rows_of(const at::Tensor& t) { return {t.data_ptr<float>(), t.stride(0), t.stride(1)}; }

at::Tensor dconv_layer(const at::Tensor& input, const at::Tensor& w1, const at::Tensor& b1, int64_t dilation,
                       int64_t padding, const at::Tensor& n1w, const at::Tensor& n1b, double eps1,
                       const at::Tensor& w2, const at::Tensor& b2, const at::Tensor& n2w, const at::Tensor& n2b,
                       double eps2, const at::Tensor& scale) {
  TORCH_CHECK(input.device().is_cpu() && input.scalar_type() == at::kFloat, "dconv_layer: float32 on the CPU");
  TORCH_CHECK(input.dim() == 3, "dconv_layer: (rows, channels, time)");
  const at::Tensor x = input.stride(-1) == 1 ? input : input.contiguous();
  const int64_t C = x.size(1), H = w1.size(0), taps = w1.size(2), time = x.size(-1);
  TORCH_CHECK(w1.size(1) == C && w2.size(0) == 2 * C && w2.size(1) == H && scale.numel() == C,
              "dconv_layer: weights of another shape");
  TORCH_CHECK(2 * padding == dilation * (taps - 1), "dconv_layer: only 'same' padding");
  const int64_t rows = x.size(0);
  // Channel-major, so that demucs' view of the rows as (batch, frequency, channels, time), permuted to
  // (batch, channels, frequency, time), is contiguous for the convolution that follows (one batch item).
  at::Tensor y = at::empty({C, rows, time}, x.options()).permute({1, 0, 2});
  const at::Tensor p[] = {w1.contiguous(), b1.contiguous(), n1w.contiguous(), n1b.contiguous(), w2.contiguous(),
                          b2.contiguous(), n2w.contiguous(), n2b.contiguous(), scale.contiguous()};
  const Layer L{p[0].data_ptr<float>(), p[1].data_ptr<float>(), p[2].data_ptr<float>(), p[3].data_ptr<float>(),
                p[4].data_ptr<float>(), p[5].data_ptr<float>(), p[6].data_ptr<float>(), p[7].data_ptr<float>(),
                p[8].data_ptr<float>(), C, H, taps, dilation, padding, eps1, eps2};
  layer(L, rows_of(x), rows_of(y), rows, time);
  return y;
}

}  // namespace

TORCH_LIBRARY(sfa, m) {
  m.def("dconv_layer(Tensor x, Tensor w1, Tensor b1, int dilation, int padding, Tensor n1w, Tensor n1b, "
        "float eps1, Tensor w2, Tensor b2, Tensor n2w, Tensor n2b, float eps2, Tensor scale) -> Tensor");
  m.impl("dconv_layer", c10::DispatchKey::CPU, TORCH_FN(dconv_layer));
}
