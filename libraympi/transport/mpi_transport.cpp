#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "raympi/errors.hpp"
#include "transport/transport.hpp"

namespace raympi::detail {

namespace {
constexpr int kControlTag = 7331;
}

int comm_rank(MPI_Comm c) {
  int r = 0;
  MPI_Comm_rank(c, &r);
  return r;
}
int comm_size(MPI_Comm c) {
  int s = 0;
  MPI_Comm_size(c, &s);
  return s;
}

MpiTransport::MpiTransport(MPI_Comm comm, Tuning t) : Transport(comm_rank(comm), comm_size(comm), t), comm_(comm) {}

MpiTransport::~MpiTransport() = default;

void MpiTransport::send_remote(int dst, Buffer msg) {
  if (msg.size > std::size_t(INT_MAX))
    throw Error("raympi: a control message of " + std::to_string(msg.size) +
                " bytes exceeds MPI's int count; objects over 2 GiB need the UCX data plane");
  MPI_Request req;
  MPI_Isend(msg.data, int(msg.size), MPI_BYTE, dst, kControlTag, comm_, &req);
  requests_.push_back(req);
  pending_.push_back(std::move(msg));
}

bool MpiTransport::poll_remote() {
  bool active = false;
  if (!requests_.empty()) {
    int outcount = 0;
    indices_.resize(requests_.size());
    MPI_Testsome(int(requests_.size()), requests_.data(), &outcount, indices_.data(), MPI_STATUSES_IGNORE);
    if (outcount > 0 && outcount != MPI_UNDEFINED) {
      std::size_t keep = 0;  // completed requests are MPI_REQUEST_NULL now
      for (std::size_t i = 0; i < requests_.size(); ++i) {
        if (requests_[i] == MPI_REQUEST_NULL) continue;
        requests_[keep] = requests_[i];
        pending_[keep] = std::move(pending_[i]);
        ++keep;
      }
      requests_.resize(keep);
      pending_.resize(keep);
      active = true;
    }
  }
  for (int i = 0; i < 256; ++i) {
    int flag = 0;
    MPI_Message handle;
    MPI_Status st;
    MPI_Improbe(MPI_ANY_SOURCE, kControlTag, comm_, &flag, &handle, &st);
    if (!flag) break;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    char* p = static_cast<char*>(std::malloc(count > 0 ? std::size_t(count) : 1));
    MPI_Mrecv(p, count, MPI_BYTE, &handle, MPI_STATUS_IGNORE);
    Buffer b;
    b.owner = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
    b.data = p;
    b.size = std::size_t(count);
    deliver(st.MPI_SOURCE, std::move(b));
    active = true;
  }
  return active;
}

}  // namespace raympi::detail
