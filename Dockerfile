# easel in a container: `docker build --target cpu -t easel:cpu .` or
# `docker build --target cuda -t easel:cuda .` (docs/deploy.md).
#
# Stages: `build` compiles the same release binary the tests test; `ort-cpu`
# and `ort-cuda` take ONNX Runtime's shared library from the PyPI wheels,
# `openvino-cpu` OpenVINO's (bf16 on CPUs that have it, --compute)
# (`onnxruntime`, or `onnxruntime-gpu` with NVIDIA's CUDA 12 / cuDNN 9
# wheels); `cpu` and `cuda` are the images to run: slim Debian, a non-root
# user, the default model baked in (mount another folder on /srv/easel/models
# to serve yours), configured by EASEL_* environment variables.

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm
ARG PYTHON_VERSION=3.11
ARG ORT_VERSION=1.22.1
ARG OV_VERSION=2026.4.1

FROM rust:${RUST_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY server ./server
COPY frontend/src ./frontend/src
COPY static ./static
RUN cargo build --release --locked -p easel --bin easel \
    && cp target/release/easel /usr/local/bin/easel

FROM python:${PYTHON_VERSION}-slim-${DEBIAN} AS ort-cpu
ARG ORT_VERSION
RUN pip install --no-cache-dir --no-deps --target /ort onnxruntime==${ORT_VERSION}

# OpenVINO's C library and only what it needs to run ONNX graphs on the CPU
# (bf16 on CPUs with AMX or AVX512-BF16: --compute auto picks it there).
FROM python:${PYTHON_VERSION}-slim-${DEBIAN} AS openvino-cpu
ARG OV_VERSION
RUN pip install --no-cache-dir --no-deps --target /ov openvino==${OV_VERSION} \
    && mkdir /openvino && cd /ov/openvino/libs \
    && cp -P libopenvino.so.* libopenvino_c.so.* libopenvino_onnx_frontend.so.* \
        libopenvino_intel_cpu_plugin.so libtbb.so.* libtbbmalloc.so.* libhwloc.so.* /openvino/ \
    && ln -s "$(ls libopenvino_c.so.*)" /openvino/libopenvino_c.so

FROM python:${PYTHON_VERSION}-slim-${DEBIAN} AS ort-cuda
ARG ORT_VERSION
ARG CUDNN_VERSION=9.10.2.21
# easel preloads these from /ort/nvidia/*/lib, beside the ONNX Runtime library.
RUN pip install --no-cache-dir --no-deps --target /ort \
        onnxruntime-gpu==${ORT_VERSION} \
        nvidia-cudnn-cu12==${CUDNN_VERSION} \
        nvidia-cublas-cu12 nvidia-cuda-runtime-cu12 nvidia-cuda-nvrtc-cu12 \
        nvidia-cufft-cu12 nvidia-curand-cu12 nvidia-nvjitlink-cu12

FROM debian:${DEBIAN}-slim AS base
RUN useradd --system --uid 10001 --create-home --home-dir /srv/easel easel
COPY --from=build /usr/local/bin/easel /usr/local/bin/easel
COPY models/landscapes /srv/easel/models/landscapes
ENV EASEL_BIND=0.0.0.0:8080 \
    EASEL_MODELS=/srv/easel/models \
    EASEL_RESULTS_DIR=/srv/easel/results \
    EASEL_LOG=info
WORKDIR /srv/easel
RUN mkdir -p /srv/easel/results && chown easel /srv/easel/results
USER easel
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["easel", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["easel"]
CMD ["serve"]

FROM base AS cuda
ARG ORT_VERSION
COPY --from=ort-cuda /ort /opt/ort
ENV ORT_DYLIB_PATH=/opt/ort/onnxruntime/capi/libonnxruntime.so.${ORT_VERSION} \
    EASEL_DEVICE=cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

# Last, so that a plain `docker build .` makes the CPU image.
FROM base AS cpu
ARG ORT_VERSION
COPY --from=ort-cpu /ort/onnxruntime/capi/libonnxruntime.so.${ORT_VERSION} /opt/onnxruntime/lib/
COPY --from=openvino-cpu /openvino /opt/openvino/lib
ENV ORT_DYLIB_PATH=/opt/onnxruntime/lib/libonnxruntime.so.${ORT_VERSION} \
    EASEL_OPENVINO_LIB=/opt/openvino/lib/libopenvino_c.so
