// CachingAllocator: keeps released device blocks in free lists keyed by rounded size, so
// that a training loop, which frees and allocates the same sizes every step, stops calling
// cudaMalloc (a device-wide synchronisation, and illegal under graph capture) after step one.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace leap {

class CachingAllocator {
 public:
  CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Never returns null: throws leap::Error when the device is out of memory even after the
  // cache was emptied.
  void* allocate(size_t bytes);
  // Returns a block to its free list. Safe because all work runs on one stream: a later
  // user of the block is queued after every kernel that used it before.
  void release(void* block);
  // Gives every cached (free) block back to the driver.
  void empty_cache();

  static size_t rounded_size(size_t bytes);

 private:
  void* allocate_new(size_t size);
  void free_cached_blocks();  // caller holds mutex_

  std::mutex mutex_;  // tensors may be freed from data-loader threads
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;  // by rounded size
  std::unordered_map<void*, size_t> live_sizes_;                // handed out, by address
};

}  // namespace leap
