# plinth — the two commands: `make run` (the main job) and `make test` (every test).
.PHONY: all deps build run test bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build/release -j$$(nproc)

run: build
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench: build
	@bash bench/run.sh

clean:
	rm -rf build var
