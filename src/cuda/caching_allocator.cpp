#include "cuda/caching_allocator.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <string>

#include "cuda/cuda_check.h"
#include "leap/error.h"

namespace leap {

namespace {

constexpr size_t kSmallGranule = 512;            // small blocks: multiples of 512 bytes
constexpr size_t kSmallLimit = size_t(1) << 20;  // above 1 MiB: eighths of a power of two

std::string gibibytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", double(bytes) / double(size_t(1) << 30));
  return text;
}

}  // namespace

size_t CachingAllocator::rounded_size(size_t bytes) {
  if (bytes <= kSmallLimit)
    return (std::max<size_t>(bytes, 1) + kSmallGranule - 1) / kSmallGranule * kSmallGranule;
  // Few distinct sizes keep the free lists reusable; at most 12.5% is wasted.
  const size_t granule = std::bit_floor(bytes) / 8;
  return (bytes + granule - 1) / granule * granule;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = rounded_size(bytes);
  std::lock_guard lock(mutex_);
  void* block = nullptr;
  auto found = free_blocks_.find(size);
  if (found != free_blocks_.end() && !found->second.empty()) {
    block = found->second.back();
    found->second.pop_back();
  } else {
    block = allocate_new(size);
  }
  live_sizes_.emplace(block, size);
  return block;
}

void* CachingAllocator::allocate_new(size_t size) {
  void* block = nullptr;
  cudaError_t status = cudaMalloc(&block, size);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear it, or the next launch check would report it
    free_cached_blocks();
    status = cudaMalloc(&block, size);
  }
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    LEAP_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    throw OutOfMemory("out of GPU memory allocating " + std::to_string(size) + " bytes (" +
                gibibytes(free_bytes) + " free of " + gibibytes(total_bytes) + ")");
  }
  LEAP_CUDA_CHECK(status);
  return block;
}

void CachingAllocator::release(void* block) {
  if (!block) return;
  std::lock_guard lock(mutex_);
  auto live = live_sizes_.find(block);
  check(live != live_sizes_.end(), "CUDA release of a pointer this allocator did not hand out");
  free_blocks_[live->second].push_back(block);
  live_sizes_.erase(live);
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  free_cached_blocks();
}

void CachingAllocator::free_cached_blocks() {
  for (auto& [unused, blocks] : free_blocks_)
    for (void* cached : blocks) LEAP_CUDA_CHECK(cudaFree(cached));
  free_blocks_.clear();
}

}  // namespace leap
