// A planned CPU allocator for repeated forwards of one shape (arena.py says why and how it is used).
//
// Wraps PyTorch's CPU allocator and only delegates to it outside a session. The first session of a key
// records its thread's allocations, in order, and when each is freed; its end lays those freed within it
// out in one block, so that no two alive at the same time overlap. Later sessions of the key give the n-th
// allocation its planned place when its size is the planned one and no allocation still alive there
// overlaps it; anything else (a size off the plan, another thread's allocations, a tensor kept past its
// planned life) comes from the wrapped allocator. One plan is kept. While it is in use and has been
// replayed, a session of another key runs unplanned (a track's last, shorter chunk) unless the same key
// came just before (a new workload), which records anew; otherwise another key records anew at once, and
// so does the next session after one that departed from the plan. Releasing the plan gives its block back
// and keeps its layout, for the next session of its key.

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kHugePage = size_t{1} << 21;
constexpr int64_t kUnplanned = -1;

size_t aligned(size_t n, size_t to) { return (n + to - 1) / to * to; }

struct Life {
  size_t from, to; // in the recording's events; to == 0: still alive when it ended
};

struct Recording {
  uint64_t key;
  std::vector<size_t> sizes; // every allocation of the session, in order
  std::vector<Life> lives;
  size_t clock = 0;
};

struct Plan {
  uint64_t key = 0;
  std::vector<size_t> sizes;
  std::vector<int64_t> offsets; // kUnplanned for those alive at the recording's end
  std::vector<size_t> live;     // planned allocations handed out and not yet freed
  void* block = nullptr;
  size_t bytes = 0;
  int sessions = 0;
  bool replayed = false;
  bool dropped = false;

  ~Plan() {
    if (block != nullptr) munmap(block, bytes);
  }
};

struct Session {
  bool active = false;
  Plan* plan = nullptr; // replaying it, or recording when null
  std::unique_ptr<Recording> recording;
  bool unplanned = false; // neither: every allocation from the wrapped allocator
  bool diverged = false;
  size_t next = 0;
};

thread_local Session session;

// Guarded by mutex: frees come from any thread.
std::mutex mutex;
c10::Allocator* wrapped = nullptr;
c10::DeleterFnPtr wrapped_free = nullptr;
std::unique_ptr<Plan> current;
std::unique_ptr<Plan> resting;                                           // the layout of a released plan
std::vector<std::unique_ptr<Plan>> draining;                             // dropped, still in use
std::unordered_map<void*, std::pair<Recording*, size_t>> recorded;       // recordings' allocations alive
uint64_t other_key = 0;                                                  // the key last run unplanned
bool other_pending = false;                                              // ... with no replay since

void collect(Plan* plan) {
  if (!plan->dropped || plan->sessions > 0 || !plan->live.empty()) return;
  draining.erase(std::remove_if(draining.begin(), draining.end(),
                                [plan](const std::unique_ptr<Plan>& p) { return p.get() == plan; }),
                 draining.end());
}

void drop_current() {
  if (!current) return;
  current->dropped = true;
  Plan* plan = current.get();
  draining.push_back(std::move(current));
  collect(plan);
}

bool free_in(Plan* plan, void* data) {
  char* block = static_cast<char*>(plan->block);
  if (data < block || data >= block + plan->bytes) return false;
  auto offset = static_cast<int64_t>(static_cast<char*>(data) - block);
  auto& live = plan->live;
  auto found = std::find_if(live.begin(), live.end(), [&](size_t index) { return plan->offsets[index] == offset; });
  if (found != live.end()) live.erase(found);
  collect(plan);
  return true;
}

// The deleter of every allocation made in a session; its context is its address, as raw_allocate needs.
void raw_free(void* data) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (current && free_in(current.get(), data)) return;
    for (const auto& plan : draining) {
      if (free_in(plan.get(), data)) return;
    }
    if (auto found = recorded.find(data); found != recorded.end()) {
      auto [recording, index] = found->second;
      recording->lives[index].to = ++recording->clock;
      recorded.erase(found);
    }
  }
  wrapped_free(data);
}

// Map the plan's block (in huge pages where the system allows); false if there is no memory for it.
bool map_block(Plan& plan) {
  void* block = mmap(nullptr, plan.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return false;
  madvise(block, plan.bytes, MADV_HUGEPAGE);
  plan.block = block;
  return true;
}

// Offsets for the allocations freed within the recording: largest first, each at the lowest offset clear
// of every placed allocation whose life overlaps its own. Returns the bytes the block needs.
size_t pack(const Recording& recording, std::vector<int64_t>& offsets) {
  const auto& sizes = recording.sizes;
  const auto& life = recording.lives;
  std::vector<size_t> order;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (life[i].to != 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  std::vector<size_t> placed;
  std::vector<std::pair<size_t, size_t>> taken;
  size_t total = 0;
  for (size_t i : order) {
    taken.clear();
    for (size_t j : placed) {
      if (life[j].from < life[i].to && life[i].from < life[j].to) {
        auto start = static_cast<size_t>(offsets[j]);
        taken.emplace_back(start, start + sizes[j]);
      }
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (auto [start, end] : taken) {
      if (start >= offset + sizes[i]) break;
      offset = std::max(offset, end);
    }
    offsets[i] = static_cast<int64_t>(offset);
    total = std::max(total, offset + sizes[i]);
    placed.push_back(i);
  }
  return total;
}

struct PlannedAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) override {
    if (!session.active || session.unplanned || n == 0) return wrapped->allocate(n);
    size_t index = session.next++;
    if (session.recording) return record(n);
    Plan* plan = session.plan;
    if (!session.diverged && (index >= plan->sizes.size() || plan->sizes[index] != aligned(n, kAlign))) {
      session.diverged = true; // the order no longer matches the plan's: the rest comes from elsewhere
    }
    if (!session.diverged && plan->offsets[index] != kUnplanned) {
      std::lock_guard<std::mutex> lock(mutex);
      if (clear(*plan, index)) {
        plan->live.push_back(index);
        char* data = static_cast<char*>(plan->block) + plan->offsets[index];
        return {data, data, &raw_free, c10::Device(c10::DeviceType::CPU)};
      }
    }
    return wrapped->allocate(n);
  }

  c10::DeleterFnPtr raw_deleter() const override { return &raw_free; }

  void copy_data(void* dest, const void* src, size_t count) const override { default_copy_data(dest, src, count); }

 private:
  static bool clear(const Plan& plan, size_t index) {
    auto start = static_cast<size_t>(plan.offsets[index]);
    size_t end = start + plan.sizes[index];
    for (size_t other : plan.live) {
      auto from = static_cast<size_t>(plan.offsets[other]);
      if (from < end && start < from + plan.sizes[other]) return false;
    }
    return true;
  }

  static c10::DataPtr record(size_t n) {
    c10::DataPtr inner = wrapped->allocate(n);
    Recording* recording = session.recording.get();
    std::lock_guard<std::mutex> lock(mutex);
    recording->sizes.push_back(aligned(n, kAlign));
    recording->lives.push_back({++recording->clock, 0});
    if (inner.get_deleter() != wrapped_free || inner.get_context() != inner.get()) return inner; // never planned
    void* data = inner.release_context(); // freed by address (raw_free), which first notes when
    recorded.emplace(data, std::make_pair(recording, recording->sizes.size() - 1));
    return {data, data, &raw_free, c10::Device(c10::DeviceType::CPU)};
  }
};

PlannedAllocator planned;

} // namespace

extern "C" {

// Put the planned allocator in front of the CPU allocator, once per process; false if the CPU allocator's
// allocations cannot be freed by their address alone.
bool sfa_arena_install() {
  std::lock_guard<std::mutex> lock(mutex);
  if (wrapped != nullptr) return true;
  c10::Allocator* cpu = c10::GetCPUAllocator();
  if (cpu->raw_deleter() == nullptr) return false;
  wrapped = cpu;
  wrapped_free = cpu->raw_deleter();
  c10::SetCPUAllocator(&planned, /*priority=*/1);
  return true;
}

// Start this thread's session of `key`: replaying the plan if it is `key`'s, else running unplanned or
// recording one (the file's head says when which).
void sfa_arena_begin(uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex);
  session.active = true;
  session.unplanned = false;
  session.diverged = false;
  session.next = 0;
  if (!current && resting && resting->key == key && map_block(*resting)) current = std::move(resting);
  if (current && current->key == key) {
    session.plan = current.get();
    ++current->sessions;
    current->replayed = true;
    other_pending = false;
    return;
  }
  if (current && current->replayed && !(other_pending && other_key == key)) {
    other_key = key;
    other_pending = true;
    session.plan = nullptr;
    session.unplanned = true;
    return;
  }
  other_pending = false;
  drop_current();
  resting.reset();
  session.plan = nullptr;
  session.recording = std::make_unique<Recording>();
  session.recording->key = key;
}

// End this thread's session; a recording becomes the plan, its block mapped (in huge pages where the
// system allows). Returns the plan's bytes, 0 when a recording had nothing to plan or the session ran
// unplanned.
uint64_t sfa_arena_end() {
  std::lock_guard<std::mutex> lock(mutex);
  session.active = false;
  if (session.unplanned) {
    session.unplanned = false;
    return 0;
  }
  if (Plan* plan = session.plan) {
    session.plan = nullptr;
    --plan->sessions;
    uint64_t bytes = plan->bytes;
    if (session.diverged && plan == current.get()) drop_current();
    collect(plan);
    return bytes;
  }
  std::unique_ptr<Recording> recording = std::move(session.recording);
  for (auto it = recorded.begin(); it != recorded.end();) {
    it = it->second.first == recording.get() ? recorded.erase(it) : std::next(it);
  }
  auto plan = std::make_unique<Plan>();
  plan->key = recording->key;
  plan->offsets.assign(recording->sizes.size(), kUnplanned);
  plan->bytes = aligned(pack(*recording, plan->offsets), kHugePage);
  if (plan->bytes == 0 || !map_block(*plan)) return 0;
  plan->sizes = std::move(recording->sizes);
  drop_current();
  current = std::move(plan);
  return current->bytes;
}

// Release the plan: its block goes back to the system once nothing allocated from it is alive; its layout
// is kept for the next session of its key.
void sfa_arena_release() {
  std::lock_guard<std::mutex> lock(mutex);
  if (!current) return;
  resting = std::make_unique<Plan>();
  resting->key = current->key;
  resting->sizes = current->sizes;
  resting->offsets = current->offsets;
  resting->bytes = current->bytes;
  drop_current();
}

// Bytes of the blocks plans hold (the current one and dropped ones still in use).
uint64_t sfa_arena_bytes() {
  std::lock_guard<std::mutex> lock(mutex);
  uint64_t total = current ? current->bytes : 0;
  for (const auto& plan : draining) total += plan->bytes;
  return total;
}
}
