#!/usr/bin/python3
"""A minimal browser around WebKitGTK (the engine of Safari) for WebKitWebDriver's --target mode.

MiniBrowser, the engine's own test browser, keeps its window at least 447 px wide (no phone
viewport), forgets its profile and asks where to save downloads. This host gives one device:
a persistent profile in PROFILE (fresh per device), a window of exactly WIDTH x HEIGHT, the
web features Safari ships that WebKitGTK leaves off by default (the Origin Private File
System and its access handles and writable streams, navigator.storage) and Safari's storage
quota (60 % of the disk for a site, where WebKitGTK allows 1000 MiB), downloads saved
without asking into PROFILE/Downloads, and console messages on stdout.

Usage: WEBKIT_INSPECTOR_SERVER=127.0.0.1:PORT [SHARETHINGS_PROXY=http://127.0.0.1:P]
       webkit-host.py PROFILE WIDTH HEIGHT
(run under Xvfb; WebKitWebDriver --target=127.0.0.1:PORT then drives it).
"""
import os
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

SAFARI_FEATURES = {"FileSystem", "AccessHandle", "StorageAPI", "StorageAPIEstimate", "FileSystemWritableStream"}

profile, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
downloads = os.path.join(profile, "Downloads")
os.makedirs(downloads, exist_ok=True)

# Safari (17 and later) lets a site store up to 60 % of the disk; WebKitGTK's default is 1000 MiB.
data = WebKit2.WebsiteDataManager(
    base_data_directory=os.path.join(profile, "data"),
    base_cache_directory=os.path.join(profile, "cache"),
    origin_storage_ratio=0.6,
    total_storage_ratio=0.8,
)
# The plain-HTTP check reaches a LAN name through the test's proxy (WebKit has no host rules).
if os.environ.get("SHARETHINGS_PROXY"):
    data.set_network_proxy_settings(WebKit2.NetworkProxyMode.CUSTOM, WebKit2.NetworkProxySettings.new(os.environ["SHARETHINGS_PROXY"], None))
context = WebKit2.WebContext.new_with_website_data_manager(data)
context.set_automation_allowed(True)

settings = WebKit2.Settings()
settings.set_enable_write_console_messages_to_stdout(True)
settings.set_enable_developer_extras(True)
features = WebKit2.Settings.get_all_features()
enabled = []
for i in range(features.get_length()):
    feature = features.get(i)
    if feature.get_identifier() in SAFARI_FEATURES:
        settings.set_feature_enabled(feature, True)
        enabled.append(feature.get_identifier())
print(f"webkit-host: WebKitGTK {WebKit2.get_major_version()}.{WebKit2.get_minor_version()}.{WebKit2.get_micro_version()}, enabled {sorted(enabled)}", flush=True)

windows = []


def new_view(_session=None):
    view = WebKit2.WebView(web_context=context, settings=settings, is_controlled_by_automation=True)
    window = Gtk.Window()
    window.set_default_size(width, height)
    window.set_resizable(True)
    window.add(view)
    window.show_all()
    windows.append(window)
    view.connect("close", lambda v: window.destroy())
    return view


def automation_started(_context, session):
    info = WebKit2.ApplicationInfo()
    info.set_name("sharethings-webkit-host")
    info.set_version(1, 0, 0)
    session.set_application_info(info)
    session.connect("create-web-view", new_view)


def download_started(_context, download):
    def destination(d, suggested):
        d.set_allow_overwrite(True)
        d.set_destination(GLib.filename_to_uri(os.path.join(downloads, os.path.basename(suggested)), None))
        return True

    download.connect("decide-destination", destination)


context.connect("automation-started", automation_started)
context.connect("download-started", download_started)
Gtk.main()
