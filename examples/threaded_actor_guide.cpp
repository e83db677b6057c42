// A threaded actor, as docs/actors.md shows it: a program that builds and
// runs under ctest (`threaded_actor_guide`); the page quotes this file verbatim.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/threaded_actor_guide
#include <raympi/raympi.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// A lookup service in front of a slow backend: its calls mostly wait, so
// several may run at once. They share the object: it guards its own state.
class Lookup {
 public:
  std::string find(int key) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the backend's latency
    std::lock_guard lk(mu_);
    ++served_;
    return "value-" + std::to_string(key);
  }
  int served() const {
    std::lock_guard lk(mu_);
    return served_;
  }

 private:
  mutable std::mutex mu_;
  int served_ = 0;
};

std::unique_ptr<Lookup> make_lookup() { return std::make_unique<Lookup>(); }

RAYMPI_REMOTE(make_lookup, &Lookup::find, &Lookup::served);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS: " : "FAIL: ") << what << "\n";
    failures += !ok;
  };

  // Up to 4 calls run at once, on 4 threads of the actor's node.
  raympi::ActorHandle<Lookup> db = raympi::actor(make_lookup).max_concurrency(4).remote();
  raympi::get(db.task(&Lookup::served).remote());  // built: not part of the timing

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<raympi::ObjectRef<std::string>> answers;
  for (int key = 0; key < 8; ++key) answers.push_back(db.task(&Lookup::find).remote(key));
  std::vector<std::string> values = raympi::get(answers);  // in call order, whatever order they finished in
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  check(values.front() == "value-0" && values.back() == "value-7", "8 answers, in call order");
  check(raympi::get(db.task(&Lookup::served).remote()) == 8, "8 calls served");
  // One at a time they would take 8 x 200 ms = 1.6 s; 4 at a time about 0.4 s.
  check(seconds < 1.2, "8 slow calls took " + std::to_string(seconds) + " s (1.6 s one at a time)");

  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
