//! The address to print for a host listening on every interface.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

/// `addr` itself unless it is unspecified (`0.0.0.0`, `::`): then the same
/// port on the first address of an interface that is up and not loopback
/// (of the same family), so a printed URL can be pasted on another machine.
/// Falls back to loopback when there is no such interface.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    if !addr.ip().is_unspecified() {
        return addr;
    }
    let ip = first_interface_address(addr.is_ipv4()).unwrap_or(if addr.is_ipv4() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    });
    SocketAddr::new(ip, addr.port())
}

fn first_interface_address(ipv4: bool) -> Option<IpAddr> {
    getifaddrs().ok()?.find_map(|interface| {
        let usable = interface.flags.contains(InterfaceFlags::IFF_UP)
            && !interface.flags.contains(InterfaceFlags::IFF_LOOPBACK);
        let address = interface.address.filter(|_| usable)?;
        if ipv4 {
            let ip = address.as_sockaddr_in()?.ip();
            (!ip.is_loopback() && !ip.is_link_local()).then_some(IpAddr::V4(ip))
        } else {
            let ip = address.as_sockaddr_in6()?.ip();
            // Link-local addresses need a scope id no URL carries.
            let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
            (!ip.is_loopback() && !link_local).then_some(IpAddr::V6(ip))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_specific_addresses_and_replaces_unspecified_ones() {
        let loopback: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        assert_eq!(reachable(loopback), loopback);
        let any = reachable("0.0.0.0:7878".parse().unwrap());
        assert!(!any.ip().is_unspecified() && any.is_ipv4(), "{any}");
        assert_eq!(any.port(), 7878);
    }
}
