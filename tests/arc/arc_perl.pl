#!/usr/bin/perl
# The independent ARC implementation of the interop tests: Perl Mail::DKIM (Debian's
# libmail-dkim-perl). Keys are asked of the tests' DNS server on loopback only.
#
#   perl arc_perl.pl verify PORT < message       prints "RESULT<TAB>DETAIL"
#   perl arc_perl.pl seal PORT DOMAIN SELECTOR KEYFILE SRVID < message
#                                                prints the new ARC header lines
use strict;
use warnings;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my ($mode, $port, @rest) = @ARGV;
die "usage: arc_perl.pl verify|seal PORT ...\n" unless $mode && $port && $port =~ /^\d+$/;
my $resolver = Net::DNS::Resolver->new(
    nameservers => ['127.0.0.1'], port => $port, recurse => 1, udp_timeout => 2,
    tcp_timeout => 2, retry => 1,
);
Mail::DKIM::DNS::resolver($resolver);

binmode STDIN;
my $message = do { local $/; <STDIN> };
$message =~ s/\r?\n/\r\n/g;

if ($mode eq 'verify') {
    my $arc = Mail::DKIM::ARC::Verifier->new();
    $arc->PRINT($message);
    $arc->CLOSE;
    print $arc->result, "\t", ($arc->result_detail // ''), "\n";
}
elsif ($mode eq 'seal') {
    my ($domain, $selector, $keyfile, $srvid) = @rest;
    my $arc = Mail::DKIM::ARC::Signer->new(
        Algorithm => 'rsa-sha256', Domain => $domain, Selector => $selector,
        KeyFile => $keyfile, SrvId => $srvid, Chain => 'ar',
        Headers => 'from:to:subject:date:message-id:dkim-signature',
    );
    $arc->PRINT($message);
    $arc->CLOSE;
    die "not sealed: " . $arc->result . " " . ($arc->result_detail // '') . "\n"
        unless $arc->result eq 'sealed';
    print $arc->as_string;
}
else {
    die "unknown mode $mode\n";
}
