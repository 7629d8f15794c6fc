{
  "targets": [
    {
      "target_name": "vlv",
      "sources": [
        "<!@(node -e \"const fs=require('fs'),p=require('path');const dirs=['csrc/core','csrc/io','csrc/ops','csrc/ops/check','csrc/ops/grad','csrc/ops/cpu','csrc/ops/cuda','csrc/autograd','csrc/models','csrc/models/schedulers','csrc/napi'];for(const d of dirs){if(!fs.existsSync(d))continue;for(const f of fs.readdirSync(d).sort())if(f.endsWith('.cc'))console.log(p.join(d,f))}\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "csrc"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "VLV_BUILD_SYSTEM=\"node-gyp\"",
        "VLV_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-pthread"]
    }
  ]
}
